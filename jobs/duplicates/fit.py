"""Refit the calibration on a labelled JSONL set: `python -m jobs.duplicates.fit FILE.jsonl [--by-project]`.

`--by-project` also fits on each project alone and measures the decision on every project with those
coefficients, to show whether one threshold means about the same precision in a repository not fitted on.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from jobs.duplicates import calibration, evaluate, semantic
from jobs.duplicates.dataset import load_reports
from jobs.duplicates.engine import DEFAULT_MAX_SUGGESTIONS, Candidate

THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5)


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


def rescored(outcomes: Sequence[evaluate.Outcome], coef: tuple[float, ...]) -> list[evaluate.Outcome]:
    """The same rankings with scores from other coefficients (ranks, hence recall@k and MRR, unchanged)."""
    out = []
    for outcome in outcomes:
        probs = calibration.probabilities(np.asarray(outcome.features, dtype=np.float64), coef)
        candidates = [
            Candidate(c.index, c.fused, float(p)) for c, p in zip(outcome.candidates, probs, strict=True)
        ]
        out.append(replace(outcome, candidates=candidates))
    return out


def by_project(outcomes: Sequence[evaluate.Outcome]) -> None:
    """Fit on each project; print comments / precision / recall per project and threshold."""
    projects = sorted({o.report.project for o in outcomes})
    split = {p: [o for o in outcomes if o.report.project == p] for p in projects}
    for fitted in projects:
        coef = calibration.fit(*training_rows(split[fitted]))
        print(f"  fitted on {fitted}: {coef}")
        for threshold in THRESHOLDS:
            cells = []
            for project in projects:
                m = evaluate.measure(rescored(split[project], coef), [1], threshold, DEFAULT_MAX_SUGGESTIONS)
                role = "fit" if project == fitted else "held out"
                cells.append(f"{project} ({role}) {m.comments} / {m.precision:.2f} / {m.decision_recall:.3f}")
            print(f"    t={threshold}: " + "   ".join(cells))


def main(argv: Sequence[str]) -> None:
    reports = load_reports(Path(argv[0]))
    modes = [("LEXICAL_COEF", True)]
    if semantic.embeddings_available()[0]:
        modes.append(("HYBRID_COEF", False))
    for name, lexical_only in modes:
        outcomes = evaluate.run(reports, lexical_only=lexical_only, progress=evaluate.stderr_progress)
        x, y = training_rows(outcomes)
        print(f"{name} = {calibration.fit(x, y)}  # {int(y.sum())} positives of {len(y)}")
        if "--by-project" in argv[1:]:
            by_project(outcomes)


if __name__ == "__main__":
    main(sys.argv[1:])
