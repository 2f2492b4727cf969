"""Refit the decision model on a labelled JSONL set, judged by held-out projects.

`python -m jobs.duplicates.fit FILE.jsonl [FILE.jsonl ...] [--synthetic-dates=NAME.jsonl] [--write]
[--choose-on=NAME.jsonl] [--lexical-only]`

Several files are fitted as one set (their projects all take turns being held out). `--synthetic-dates`
names a file whose created_at only orders its reports (duppr-dev's), so it gives no age gap; `--choose-on`
names the file(s) whose held-out curve picks the threshold (the GitHub projects, when another file's labels
undercount duplicates).

Leave one project out: fit on all projects but one, score the one left out, rotate. The held-out scores of
every project together give the cross-validated figures (per project and overall) and the precision-recall
curve the default threshold is chosen from: the lowest threshold whose held-out precision, and that of every
higher one, is at least TARGET_PRECISION. The shipped coefficients are then fitted on every project; `--write`
writes them and the threshold into jobs/duplicates/decision_coef.py. The data stays where it is.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from jobs.duplicates import calibration, decision, evaluate, semantic
from jobs.duplicates.dataset import load_reports
from jobs.duplicates.engine import DEFAULT_MAX_SUGGESTIONS, Candidate

L2 = 1.0
TARGET_PRECISION = 0.82
"""0.8, the product's target, plus 0.02: the threshold is chosen on the held-out curve it is reported on."""
GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))
PRIORS = {
    "files": 4.0,
    "files_disjoint": -1.5,
    "cand_merged": 0.0,
    "template_only": 0.0,
    "automated": 0.0,
    "other_branch": 0.0,
}
"""Set, not fitted: the development data has no changed-file lists. A PR pair changing the same files is
strong evidence (Jaccard 1 adds 4 to the log-odds); two PRs whose known files are disjoint change different
code. Neither set has merged pull requests as candidates, so `cand_merged` stays neutral. Fitted coefficients
replace these once a labelled set has them (drop the entry here)."""
COEF_FILE = Path(__file__).with_name("decision_coef.py")


def training_rows(
    outcomes: Sequence[evaluate.Outcome],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Top candidates of every report whose truth is known; positive when linked to it as a duplicate."""
    xs: list[list[float]] = []
    ys: list[float] = []
    for outcome in outcomes:
        if not outcome.truth_known:
            continue
        for candidate, row in zip(outcome.candidates, outcome.features, strict=True):
            if decision.vetoed(row):  # never suggested, so not what the model has to tell apart
                continue
            xs.append(row)
            ys.append(1.0 if outcome.is_linked(candidate) else 0.0)
    width = len(decision.FEATURES)
    return np.asarray(xs, dtype=np.float64).reshape(-1, width), np.asarray(ys, dtype=np.float64)


def fit(outcomes: Sequence[evaluate.Outcome], l2: float = L2) -> tuple[float, ...]:
    """L2-regularised logistic regression over the fitted features; PRIORS fill in the others."""
    x, y = training_rows(outcomes)
    fitted = [i for i, name in enumerate(decision.FEATURES) if name not in PRIORS]
    weights = calibration.fit(x[:, fitted], y, l2)
    coef = [PRIORS.get(name, 0.0) for name in decision.FEATURES]
    for i, w in zip(fitted, weights, strict=True):
        coef[i] = w
    return tuple(coef)


def rescored(outcomes: Sequence[evaluate.Outcome], coef: Sequence[float]) -> list[evaluate.Outcome]:
    """The same rankings with scores from other coefficients (ranks, hence recall@k and MRR, unchanged)."""
    out = []
    for outcome in outcomes:
        probs = decision.probabilities(outcome.features, coef)
        candidates = [
            Candidate(c.index, c.fused, float(p)) for c, p in zip(outcome.candidates, probs, strict=True)
        ]
        out.append(replace(outcome, candidates=candidates))
    return out


def held_out(outcomes: Sequence[evaluate.Outcome]) -> list[evaluate.Outcome]:
    """Every project's outcomes scored by coefficients fitted on the other projects only."""
    projects = sorted({o.report.project for o in outcomes})
    out: list[evaluate.Outcome] = []
    for project in projects:
        coef = fit([o for o in outcomes if o.report.project != project])
        out += rescored([o for o in outcomes if o.report.project == project], coef)
    return out


def choose_threshold(curve: Sequence[evaluate.CurvePoint], target: float = TARGET_PRECISION) -> float | None:
    """The lowest threshold from which on every point that comments keeps precision >= target."""
    chosen = None
    for point in sorted(curve, key=lambda p: p.threshold, reverse=True):
        if point.comments and point.precision < target:
            break
        if point.comments:
            chosen = point.threshold
    return chosen


def _report(outcomes: Sequence[evaluate.Outcome], label: str, choose_on: Sequence[str]) -> float | None:
    """The held-out curve and per-project table; the threshold is chosen on the held-out curve of the
    projects in `choose_on` (all when empty)."""
    scored = held_out(outcomes)
    judged = [o for o in scored if not choose_on or o.report.project in choose_on]
    curve = evaluate.curve(judged, GRID, DEFAULT_MAX_SUGGESTIONS)
    threshold = choose_threshold(curve)
    print(
        f"{label}: held-out (leave one project out) curve of {len({o.report.project for o in judged})}"
        f" projects, max {DEFAULT_MAX_SUGGESTIONS} suggestions"
    )
    for point in curve:
        print(
            f"  t={point.threshold:.2f}  {point.comments:4d} comments  precision {point.precision:.3f}"
            f"  recall {point.recall:.3f}"
        )
    at = threshold if threshold is not None else 0.5
    print(f"  chosen threshold: {threshold} (precision >= {TARGET_PRECISION} held out)")
    for project, m in evaluate.per_project(scored, [1, 5], at, DEFAULT_MAX_SUGGESTIONS).items():
        print(
            f"  {project:24s} n={m.n:3d}  comments {m.comments:3d}  precision {m.precision:.3f}"
            f"  recall {m.decision_recall:.3f}  r@5 {m.recall[5]:.3f}  MRR {m.mrr:.3f}"
        )
    m = evaluate.measure(scored, [1, 5], at, DEFAULT_MAX_SUGGESTIONS)
    print(
        f"  {'overall':24s} n={m.n:3d}  comments {m.comments:3d}  precision {m.precision:.3f}"
        f"  recall {m.decision_recall:.3f}  r@5 {m.recall[5]:.3f}  MRR {m.mrr:.3f}"
    )
    return threshold


def _tuple(name: str, coef: Sequence[float]) -> str:
    rows = "".join(f"    {v!r},  # {f}\n" for v, f in zip(coef, decision.FEATURES, strict=True))
    return f"{name} = (\n{rows})\n"


def _write(
    hybrid: tuple[float, ...],
    lexical: tuple[float, ...],
    threshold: float,
    lexical_threshold: float,
    source: str,
) -> None:
    text = COEF_FILE.read_text(encoding="utf-8")
    head = text.split("# --- fitted ---")[0]
    body = (
        f"# --- fitted --- by `python -m jobs.duplicates.fit {source} --write`,\n"
        f"# {time.strftime('%Y-%m-%d')}\n"
        f"{_tuple('HYBRID', hybrid)}{_tuple('LEXICAL', lexical)}THRESHOLD = {threshold}\n"
        f"LEXICAL_THRESHOLD = {lexical_threshold}\n"
    )
    COEF_FILE.write_text(head + body, encoding="utf-8")


def outcomes_of(files: Sequence[str], lexical_only: bool, synthetic: Sequence[str]) -> list[evaluate.Outcome]:
    """Every file's outcomes together, project names as the files give them (each file ranked on its own);
    files named in `synthetic` have dates that only order their reports (no age gap from them)."""
    out: list[evaluate.Outcome] = []
    for file in files:
        dates = Path(file).name not in synthetic
        out += evaluate.run(
            load_reports(Path(file)),
            lexical_only=lexical_only,
            progress=evaluate.stderr_progress,
            dates=dates,
        )
    return out


def main(argv: Sequence[str]) -> None:
    files = [a for a in argv if not a.startswith("--") and a.endswith(".jsonl")]
    synthetic = [a.split("=", 1)[1] for a in argv if a.startswith("--synthetic-dates=")]
    choose_files = [a.split("=", 1)[1] for a in argv if a.startswith("--choose-on=")]
    modes = [("lexical", True)]
    if semantic.embeddings_available()[0] and "--lexical-only" not in argv:
        modes.append(("hybrid", False))
    fitted: dict[str, tuple[float, ...]] = {}
    thresholds: dict[str, float | None] = {}
    for name, lexical_only in modes:
        outcomes = outcomes_of(files, lexical_only, synthetic)
        chosen = [f for f in files if Path(f).name in choose_files]
        choose_on = sorted({r.project for f in chosen for r in load_reports(Path(f))})
        thresholds[name] = _report(outcomes, name, choose_on)
        fitted[name] = fit(outcomes)
        print(
            f"{name} coefficients (all projects): {dict(zip(decision.FEATURES, fitted[name], strict=True))}"
        )
    if "--write" in argv:
        primary = "hybrid" if "hybrid" in fitted else "lexical"
        threshold = thresholds[primary]
        if threshold is None:
            raise SystemExit("no threshold reaches the target precision held out; nothing written")
        flags = [*(f"--synthetic-dates={n}" for n in synthetic), *(f"--choose-on={n}" for n in choose_files)]
        source = " ".join([*(Path(f).name for f in files), *flags])
        lexical_threshold = thresholds["lexical"]
        if lexical_threshold is None:
            raise SystemExit("lexical: no threshold reaches the target precision held out; nothing written")
        _write(
            fitted.get("hybrid", fitted["lexical"]), fitted["lexical"], threshold, lexical_threshold, source
        )


if __name__ == "__main__":
    main(sys.argv[1:])
