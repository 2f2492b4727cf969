"""BM25 over a column-compressed term matrix, with corpus statistics taken from the candidate pool only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

K1 = 1.2
B = 0.75

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]


class LexicalMatrix:
    """Term frequencies of a fixed list of documents, stored per term so a query touches only its terms."""

    def __init__(self, docs: Sequence[Sequence[str]]) -> None:
        self.n_docs = len(docs)
        self.vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[int] = []
        lengths = np.zeros(self.n_docs, dtype=np.float32)
        for row, tokens in enumerate(docs):
            lengths[row] = len(tokens)
            for term, tf in Counter(tokens).items():
                rows.append(row)
                cols.append(self.vocab.setdefault(term, len(self.vocab)))
                tfs.append(tf)
        col_arr = np.asarray(cols, dtype=np.int64)
        order = np.argsort(col_arr, kind="stable")
        self.indices = np.asarray(rows, dtype=np.int32)[order]
        self.data = np.asarray(tfs, dtype=np.float32)[order]
        self.indptr = np.zeros(len(self.vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(col_arr, minlength=len(self.vocab)), out=self.indptr[1:])
        self.lengths = lengths

    def nbytes(self) -> int:
        """Memory held by the arrays (the vocabulary dict comes on top)."""
        return int(self.indices.nbytes + self.data.nbytes + self.indptr.nbytes + self.lengths.nbytes)

    def scores(self, query: Sequence[str], pool: BoolArray | None = None) -> tuple[FloatArray, float]:
        """BM25 of every document for the query, and the query's score against itself (the scale's top).

        Documents outside the pool score 0 and shape no statistic, so a ranking as of a past date sees only
        the documents that existed then.
        """
        out = np.zeros(self.n_docs, dtype=np.float32)
        if pool is None:
            pool = np.ones(self.n_docs, dtype=np.bool_)
        n = int(pool.sum())
        if n == 0:
            return out, 0.0
        avgdl = float(self.lengths[pool].mean()) or 1.0
        norm = K1 * (1 - B + B * self.lengths / avgdl)
        counts = Counter(query)
        self_norm = K1 * (1 - B + B * len(query) / avgdl)
        self_score = 0.0
        for term, qtf in counts.items():
            col = self.vocab.get(term)
            df = 0
            if col is not None:
                start, end = self.indptr[col], self.indptr[col + 1]
                rows = self.indices[start:end]
                keep = pool[rows]
                rows = rows[keep]
                df = len(rows)
            weight = float(np.log(1 + (n - df + 0.5) / (df + 0.5))) * (1 + float(np.log(qtf)))
            self_score += weight * qtf * (K1 + 1) / (qtf + self_norm)
            if col is None or df == 0:
                continue
            tf = self.data[start:end][keep]
            out[rows] += np.float32(weight) * tf * (K1 + 1) / (tf + norm[rows])
        return out, self_score
