"""Map a candidate's fused score to a probability-like score, using features relative to its own pool."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FEATURES = ("fused", "margin", "bias")
"""No z-score against the pool: it grows with the pool's size, so the same pair would score differently in a
small and a large repository."""

# Fitted on 2026-11-21 by `python -m jobs.duplicates.fit ../shared/eval/duplicates/gitbugs.jsonl`:
# L2-regularised logistic regression (L2 = 1) on the top-10 candidates of every report of that development set
# whose truth is known (34,370 rows); positive = the candidate is linked to the report as a duplicate in
# either direction. The set's base rate (about 3% of reports are duplicates, and many unlinked Jira clones
# and backports look identical) keeps these probabilities modest. Refit with the same command after changing
# tokenisation or fusion.
HYBRID_COEF = (3.8986, 4.953, -7.093)
LEXICAL_COEF = (2.5567, 4.3428, -6.2633)


def features(fused: npt.NDArray[np.float32], top: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Per top candidate: its fused score and its margin over the best other candidate."""
    pool = fused.astype(np.float64)
    mean = float(pool.mean()) if len(pool) else 0.0
    top_scores = pool[top]
    rows = np.zeros((len(top), len(FEATURES)), dtype=np.float64)
    for i, score in enumerate(top_scores):
        others = np.delete(top_scores, i)
        best_other = float(others.max()) if len(others) else mean
        rows[i] = (score, score - best_other, 1.0)
    return rows


def probabilities(rows: npt.NDArray[np.float64], coef: tuple[float, ...]) -> npt.NDArray[np.float64]:
    """Logistic of the linear score; the same threshold then means about the same precision anywhere."""
    logits = rows @ np.asarray(coef, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))


def fit(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], l2: float = 1.0) -> tuple[float, ...]:
    """Newton's method for L2-regularised logistic regression (no bias penalty); small and dependency-free."""
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ (p - y) + penalty * w
        hess = (x.T * (p * (1 - p))) @ x + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if math.sqrt(float(step @ step)) < 1e-8:
            break
    return tuple(round(float(v), 4) for v in w)
