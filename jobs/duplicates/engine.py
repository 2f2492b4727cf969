"""Hybrid ranking of a repository's earlier items for one query: BM25 and embeddings, fused and calibrated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from jobs.duplicates import calibration
from jobs.duplicates.lexical import BoolArray, FloatArray, LexicalMatrix

LEXICAL_WEIGHT = 0.55
"""Share of the lexical similarity in the fused score when embeddings are present (tuned on the dev set)."""
TOP_K = 10
"""Candidates scored by the calibration (and the most a comment could list)."""


@dataclass(frozen=True)
class Candidate:
    """One earlier item, its place in the ranking, and how likely it is the original."""

    index: int
    fused: float
    score: float


@dataclass(frozen=True)
class Ranking:
    """The best candidates, best first; `order` ranks the whole pool (for evaluation)."""

    candidates: list[Candidate]
    fused: FloatArray
    pool: BoolArray

    def rank_of(self, index: int) -> int | None:
        """1-based rank of one document in the pool, or None when it was not a candidate."""
        if not self.pool[index]:
            return None
        score = self.fused[index]
        better = (self.fused > score) & self.pool
        return int(better.sum()) + 1


class Corpus:
    """One repository's documents as matrices: built from stored tokens and vectors, queried many times."""

    def __init__(self, tokens: Sequence[Sequence[str]], vectors: npt.NDArray[np.float32] | None) -> None:
        self.lexical = LexicalMatrix(tokens)
        self.vectors = vectors
        self.size = len(tokens)

    @property
    def hybrid(self) -> bool:
        return self.vectors is not None

    def nbytes(self) -> int:
        return self.lexical.nbytes() + (self.vectors.nbytes if self.vectors is not None else 0)

    def fused_scores(
        self, tokens: Sequence[str], vector: npt.NDArray[np.float32] | None, pool: BoolArray
    ) -> FloatArray:
        """Lexical similarity relative to the query's self-score, mixed with cosine when both exist."""
        bm25, self_score = self.lexical.scores(tokens, pool)
        lexical = bm25 / max(self_score, 1e-6)
        if self.vectors is None or vector is None:
            fused = lexical
        else:
            cosine = self.vectors @ vector
            fused = LEXICAL_WEIGHT * lexical + (1 - LEXICAL_WEIGHT) * cosine
        return np.where(pool, fused, np.float32(-1.0)).astype(np.float32)

    def rank(
        self,
        tokens: Sequence[str],
        vector: npt.NDArray[np.float32] | None,
        pool: BoolArray,
        top_k: int = TOP_K,
    ) -> Ranking:
        """The pool ranked for the query, the top ones with calibrated scores."""
        fused = self.fused_scores(tokens, vector, pool)
        n = int(pool.sum())
        if n == 0:
            return Ranking([], fused, pool)
        k = min(top_k, n)
        top = np.argpartition(-fused, k - 1)[:k]
        top = top[np.argsort(-fused[top], kind="stable")].astype(np.int64)
        coef = calibration.HYBRID_COEF if self.hybrid and vector is not None else calibration.LEXICAL_COEF
        probs = calibration.probabilities(calibration.features(fused[pool], top_in_pool(top, pool)), coef)
        candidates = [Candidate(int(i), float(fused[i]), float(p)) for i, p in zip(top, probs, strict=True)]
        return Ranking(candidates, fused, pool)


def top_in_pool(top: npt.NDArray[np.int64], pool: BoolArray) -> npt.NDArray[np.int64]:
    """Positions of the top documents within the pool's compressed array."""
    positions = np.cumsum(pool) - 1
    return positions[top].astype(np.int64)


DEFAULT_THRESHOLD = 0.5
"""Calibrated score the best candidate needs before Steward comments (config `duplicates.threshold`)."""
DEFAULT_MAX_SUGGESTIONS = 3
LIST_FLOOR = 0.5
"""Once Steward comments, it also lists runners-up scoring at least this share of the threshold."""


def suggestions(candidates: Sequence[Candidate], threshold: float, max_suggestions: int) -> list[Candidate]:
    """What a comment shows: nothing unless the best passes the threshold, then the best few near it."""
    if not candidates or candidates[0].score < threshold:
        return []
    floor = threshold * LIST_FLOOR
    return [c for c in candidates[:max_suggestions] if c.score >= floor]
