"""Hybrid ranking of a repository's earlier items for one query: BM25 and embeddings, fused and calibrated."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from jobs.duplicates import calibration
from jobs.duplicates.lexical import BoolArray, FloatArray, LexicalMatrix, bm25

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

    def __init__(self, tokens: Iterable[Sequence[str]], vectors: npt.NDArray[np.float32] | None) -> None:
        """`tokens` may be a generator: documents are counted as they come (see LexicalMatrix)."""
        self.lexical = LexicalMatrix(tokens)
        self.vectors = vectors
        self.size = self.lexical.n_docs

    @classmethod
    def of(cls, lexical: LexicalMatrix, vectors: npt.NDArray[np.float32] | None) -> Corpus:
        """A corpus from a term matrix already built (e.g. while streaming rows from the database)."""
        corpus = cls.__new__(cls)
        corpus.lexical, corpus.vectors, corpus.size = lexical, vectors, lexical.n_docs
        return corpus

    @property
    def hybrid(self) -> bool:
        return self.vectors is not None

    def nbytes(self) -> int:
        return self.lexical.nbytes() + (self.vectors.nbytes if self.vectors is not None else 0)

    def fused_scores(
        self, tokens: Sequence[str], vector: npt.NDArray[np.float32] | None, pool: BoolArray
    ) -> FloatArray:
        """Lexical similarity relative to the query's self-score, mixed with cosine when both exist."""
        return fuse([(self, pool)], tokens, vector)

    def rank(
        self,
        tokens: Sequence[str],
        vector: npt.NDArray[np.float32] | None,
        pool: BoolArray,
        top_k: int = TOP_K,
    ) -> Ranking:
        """The pool ranked for the query, the top ones with calibrated scores."""
        fused = self.fused_scores(tokens, vector, pool)
        return rank_fused(fused, pool, self.hybrid and vector is not None, top_k)


def fuse(
    parts: Sequence[tuple[Corpus, BoolArray]], tokens: Sequence[str], vector: npt.NDArray[np.float32] | None
) -> FloatArray:
    """Fused scores over several corpora taken as one (shared BM25 statistics), concatenated in order."""
    lexical_parts, self_score = bm25([(corpus.lexical, pool) for corpus, pool in parts], tokens)
    out: list[FloatArray] = []
    for (corpus, pool), bm in zip(parts, lexical_parts, strict=True):
        lexical = bm / max(self_score, 1e-6)
        if corpus.vectors is None or vector is None:
            fused = lexical
        else:
            fused = LEXICAL_WEIGHT * lexical + (1 - LEXICAL_WEIGHT) * (corpus.vectors @ vector)
        out.append(np.where(pool, fused, np.float32(-1.0)).astype(np.float32))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def rank_fused(fused: FloatArray, pool: BoolArray, hybrid: bool, top_k: int = TOP_K) -> Ranking:
    """The best of the pool by fused score, each with its calibrated score."""
    n = int(pool.sum())
    if n == 0:
        return Ranking([], fused, pool)
    k = min(top_k, n)
    top = np.argpartition(-fused, k - 1)[:k]
    top = top[np.argsort(-fused[top], kind="stable")].astype(np.int64)
    return Ranking(calibrate(fused, pool, top, hybrid), fused, pool)


def calibrate(
    fused: FloatArray, pool: BoolArray, top: npt.NDArray[np.int64], hybrid: bool
) -> list[Candidate]:
    """Candidates for the given top rows, scored against the pool's own distribution."""
    coef = calibration.HYBRID_COEF if hybrid else calibration.LEXICAL_COEF
    probs = calibration.probabilities(calibration.features(fused[pool], top_in_pool(top, pool)), coef)
    return [Candidate(int(i), float(fused[i]), float(p)) for i, p in zip(top, probs, strict=True)]


def top_in_pool(top: npt.NDArray[np.int64], pool: BoolArray) -> npt.NDArray[np.int64]:
    """Positions of the top documents within the pool's compressed array."""
    positions = np.cumsum(pool) - 1
    return positions[top].astype(np.int64)


DEFAULT_MAX_SUGGESTIONS = 3
LIST_FLOOR = 0.5
"""Once Steward comments, it also lists runners-up scoring at least this share of the threshold."""


class Scored(Protocol):
    @property
    def score(self) -> float: ...


S = TypeVar("S", bound=Scored)


def suggestions(candidates: Sequence[S], threshold: float, max_suggestions: int) -> list[S]:
    """What a comment shows: nothing unless the best passes the threshold, then the best few near it.

    Best by score, not by rank: the top-ranked look-alike (a backport, a bump) may score below a later one."""
    ranked = sorted(candidates, key=lambda c: c.score, reverse=True)
    if not ranked or ranked[0].score < threshold:
        return []
    floor = threshold * LIST_FLOOR
    return [c for c in ranked[:max_suggestions] if c.score >= floor]
