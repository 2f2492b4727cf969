"""BM25 over a column-compressed term matrix, with corpus statistics taken from the candidate pool only."""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

K1 = 1.2
B = 0.75

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]


class LexicalBuilder:
    """Collects documents one at a time: each one's tokens are dropped once counted, and the postings wait in
    typed arrays (4 bytes an entry, not a Python int's 28 and more), so a 50,000-issue repository builds
    without holding every token list at once."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.rows, self.cols, self.tfs, self.lengths = array("i"), array("i"), array("f"), array("f")

    def add(self, tokens: Sequence[str]) -> None:
        row = len(self.lengths)
        self.lengths.append(len(tokens))
        for term, tf in Counter(tokens).items():
            self.rows.append(row)
            self.cols.append(self.vocab.setdefault(term, len(self.vocab)))
            self.tfs.append(tf)

    def finish(self, matrix: LexicalMatrix) -> None:
        """Fill `matrix` with the postings sorted by term, then let go of the buffers."""
        cols = np.frombuffer(self.cols, dtype=np.int32) if self.cols else np.zeros(0, dtype=np.int32)
        order = np.argsort(cols, kind="stable")
        matrix.vocab = self.vocab
        matrix.n_docs = len(self.lengths)
        matrix.indices = _array(self.rows, np.int32)[order]
        matrix.data = _array(self.tfs, np.float32)[order]
        matrix.indptr = np.zeros(len(self.vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols, minlength=len(self.vocab)), out=matrix.indptr[1:])
        matrix.lengths = _array(self.lengths, np.float32).copy()
        self.rows, self.cols, self.tfs, self.lengths = array("i"), array("i"), array("f"), array("f")


def _array(values: array[Any], dtype: type[np.generic]) -> npt.NDArray[Any]:
    return np.frombuffer(values, dtype=dtype) if len(values) else np.zeros(0, dtype=dtype)


class LexicalMatrix:
    """Term frequencies of a fixed list of documents, stored per term so a query touches only its terms."""

    vocab: dict[str, int]
    n_docs: int
    indices: npt.NDArray[np.int32]
    data: FloatArray
    indptr: npt.NDArray[np.int64]
    lengths: FloatArray

    def __init__(self, docs: Iterable[Sequence[str]]) -> None:
        builder = LexicalBuilder()
        for tokens in docs:
            builder.add(tokens)
        builder.finish(self)

    def nbytes(self) -> int:
        """Memory held by the arrays (the vocabulary dict comes on top)."""
        return int(self.indices.nbytes + self.data.nbytes + self.indptr.nbytes + self.lengths.nbytes)

    def scores(self, query: Sequence[str], pool: BoolArray | None = None) -> tuple[FloatArray, float]:
        """BM25 of every document for the query, and the query's score against itself (the scale's top)."""
        if pool is None:
            pool = np.ones(self.n_docs, dtype=np.bool_)
        (out,), self_score = bm25([(self, pool)], query)
        return out, self_score


def bm25(
    parts: Sequence[tuple[LexicalMatrix, BoolArray]], query: Sequence[str]
) -> tuple[list[FloatArray], float]:
    """BM25 over several matrices as one corpus, and the query's score against itself (the scale's top).

    Documents outside their pool score 0 and shape no statistic, so a ranking as of a past date sees only the
    documents that existed then, and a live index can keep recent additions in a small second matrix.
    """
    outs = [np.zeros(m.n_docs, dtype=np.float32) for m, _ in parts]
    n = sum(int(pool.sum()) for _, pool in parts)
    if n == 0:
        return outs, 0.0
    avgdl = sum(float(m.lengths[pool].sum()) for m, pool in parts) / n or 1.0
    norms = [K1 * (1 - B + B * m.lengths / avgdl) for m, _ in parts]
    self_norm = K1 * (1 - B + B * len(query) / avgdl)
    self_score = 0.0
    for term, qtf in Counter(query).items():
        hits = [_postings(m, pool, term) for m, pool in parts]
        df = sum(len(rows) for rows, _ in hits)
        weight = float(np.log(1 + (n - df + 0.5) / (df + 0.5))) * (1 + float(np.log(qtf)))
        self_score += weight * qtf * (K1 + 1) / (qtf + self_norm)
        for out, norm, (rows, tf) in zip(outs, norms, hits, strict=True):
            if len(rows):
                out[rows] += np.float32(weight) * tf * (K1 + 1) / (tf + norm[rows])
    return outs, self_score


def _postings(matrix: LexicalMatrix, pool: BoolArray, term: str) -> tuple[npt.NDArray[np.int32], FloatArray]:
    """Rows in the pool that hold the term, and the term's frequency in each."""
    col = matrix.vocab.get(term)
    if col is None:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
    start, end = matrix.indptr[col], matrix.indptr[col + 1]
    rows = matrix.indices[start:end]
    keep = pool[rows]
    return rows[keep], matrix.data[start:end][keep]
