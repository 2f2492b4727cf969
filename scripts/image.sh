#!/usr/bin/env bash
# Builds the sandbox image unless it is already there (about a minute from Debian's packages, no registry needed).
set -euo pipefail
cd "$(dirname "$0")/.."
tag=$(uv run python -c "from app.settings import Settings; print(Settings().sandbox_image)")
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "image: $tag is present"
else
  uv run steward sandbox build --tag "$tag"
fi
