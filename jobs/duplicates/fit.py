"""Refit the calibration coefficients on a labelled JSONL set: `python -m jobs.duplicates.fit FILE.jsonl`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from jobs.duplicates import calibration, evaluate, semantic
from jobs.duplicates.dataset import load_reports


def training_rows(outcomes: Sequence[evaluate.Outcome]) -> tuple[np.ndarray, np.ndarray]:
    """Top candidates of every report whose truth is known; positive when linked to it as a duplicate."""
    xs: list[list[float]] = []
    ys: list[float] = []
    for outcome in outcomes:
        if not outcome.truth_known:
            continue
        for candidate, row in zip(outcome.candidates, outcome.features, strict=True):
            xs.append(row)
            ys.append(1.0 if outcome.is_linked(candidate) else 0.0)
    return np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)


def main(argv: Sequence[str]) -> None:
    reports = load_reports(Path(argv[0]))
    modes = [("LEXICAL_COEF", True)]
    if semantic.embeddings_available()[0]:
        modes.append(("HYBRID_COEF", False))
    for name, lexical_only in modes:
        outcomes = evaluate.run(reports, lexical_only=lexical_only, progress=evaluate.stderr_progress)
        x, y = training_rows(outcomes)
        print(f"{name} = {calibration.fit(x, y)}  # {int(y.sum())} positives of {len(y)}")


if __name__ == "__main__":
    main(sys.argv[1:])
