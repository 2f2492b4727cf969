"""Map a candidate's fused score to a probability-like score, using features relative to its own pool."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FEATURES = ("fused", "margin", "spread", "bias")
"""Scale-free, so one threshold reads the same in a small and a large repository: the fused score (BM25 over
the query's self-score, mixed with cosine), its margin over the best other candidate, and its spread over the
weakest of the top candidates (how much it stands out from the query's near neighbours). No z-score against
the whole pool: it grows with the pool's size."""

# Fitted on 2026-11-21 by `python -m jobs.duplicates.fit ../shared/eval/duplicates/gitbugs.jsonl`:
# L2-regularised logistic regression (L2 = 1) on the top-10 candidates of every report of that development set
# whose truth is known (about 34,000 rows); positive = the candidate is linked to the report as a duplicate in
# either direction. How the precision at a threshold holds up when fitted on one project and applied to the
# other (`--by-project`): jobs/duplicates/README.md. The set's base rate (about 3% of reports are duplicates,
# and many unlinked Jira clones and backports look identical) keeps these probabilities modest.
# Refit with the same command after changing tokenisation or fusion.
HYBRID_COEF = (2.3534, 2.9014, 4.3008, -6.9332)
LEXICAL_COEF = (1.3069, 2.5643, 3.5202, -6.3201)


def features(fused: npt.NDArray[np.float32], top: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Per top candidate: its fused score, its margin over the best other, its spread over the weakest."""
    pool = fused.astype(np.float64)
    mean = float(pool.mean()) if len(pool) else 0.0
    top_scores = pool[top]
    weakest = float(top_scores.min()) if len(top_scores) else 0.0
    rows = np.zeros((len(top), len(FEATURES)), dtype=np.float64)
    for i, score in enumerate(top_scores):
        others = np.delete(top_scores, i)
        best_other = float(others.max()) if len(others) else mean
        rows[i] = (score, score - best_other, score - weakest, 1.0)
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
