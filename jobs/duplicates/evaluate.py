"""The evaluation protocol of ../shared/eval/duplicates: rank earlier reports, score ranks and decisions."""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise

import numpy as np

from jobs.duplicates import calibration, decision, semantic
from jobs.duplicates.dataset import Report
from jobs.duplicates.engine import Candidate, Corpus, suggestions, top_in_pool
from jobs.duplicates.text import embed_text, tokenize

Progress = Callable[[str], None]


@dataclass
class Outcome:
    """One report ranked against its project's earlier reports."""

    report: Report
    candidates: list[Candidate]
    ids: list[str]
    original_rank: int | None = None
    """Rank of the true original when it is in the file (None for reports without one)."""
    linked: frozenset[str] = frozenset()
    """Reports of the file linked to this one as duplicates, in either direction."""
    features: list[list[float]] = field(default_factory=list)

    @property
    def truth_known(self) -> bool:
        """False for a report closed as a duplicate whose original is not in the file."""
        return not self.report.marked_duplicate or self.original_rank is not None

    def is_linked(self, candidate: Candidate) -> bool:
        return self.ids[candidate.index] in self.linked


@dataclass(frozen=True)
class Metrics:
    n: int
    recall: dict[int, float]
    mrr: float
    threshold: float
    precision: float
    decision_recall: float
    comments: int

    def as_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "recall": {str(k): round(v, 4) for k, v in self.recall.items()},
            "mrr": round(self.mrr, 4),
            "decision": {
                "threshold": self.threshold,
                "precision": round(self.precision, 4),
                "recall": round(self.decision_recall, 4),
            },
        }


def _vectors(reports: Sequence[Report], lexical_only: bool) -> np.ndarray | None:
    if lexical_only or not semantic.embeddings_available()[0]:
        return None
    return semantic.embed([embed_text(r.title, r.body) for r in reports])


def item(report: Report, dates: bool = True) -> decision.Item:
    """What the decision reads of a report (authors, branches, files unknown when the file lacks them);
    `dates=False` for a file whose created_at only orders the reports (no age gap then)."""
    created = datetime.fromisoformat(report.created_at).replace(tzinfo=UTC).timestamp() if dates else None
    return decision.Item(
        title=report.title,
        body=report.body,
        number=report.number,
        author=report.author,
        author_type=report.author_type,
        base_branch=report.base_branch,
        files=report.files,
        created=created,
        state=report.state,
    )


def run(
    reports: Sequence[Report],
    lexical_only: bool = False,
    progress: Progress | None = None,
    *,
    dates: bool = True,
) -> list[Outcome]:
    """Rank every report of the file against the earlier reports of its project (its original included);
    `dates=False` when created_at is synthetic (it still orders the reports, but gives no age gap)."""
    by_id = {r.id: r for r in reports}
    links: dict[str, set[str]] = defaultdict(set)
    for report in reports:
        if report.duplicate_of in by_id:
            links[report.id].add(report.duplicate_of)
            links[report.duplicate_of].add(report.id)
    projects: dict[str, list[Report]] = defaultdict(list)
    for report in reports:
        projects[report.project].append(report)
    outcomes: list[Outcome] = []
    for project, members in sorted(projects.items()):
        members.sort(key=lambda r: (r.created_at, r.id))
        if progress:
            progress(f"{project}: {len(members)} reports, indexing")
        vectors = _vectors(members, lexical_only)
        tokens = [tokenize(r.title, r.body) for r in members]
        items = [item(r, dates) for r in members]
        corpus = Corpus(tokens, vectors)
        ids = [r.id for r in members]
        position = {r.id: i for i, r in enumerate(members)}
        created = np.asarray([r.created_at for r in members])
        for i, report in enumerate(members):
            pool = created < report.created_at
            original = by_id.get(report.duplicate_of or "")
            judged = original is not None and original.project == project
            if judged:
                pool[position[original.id]] = True  # type: ignore[union-attr]
            pool[i] = False
            if not pool.any():
                continue
            vector = None if vectors is None else vectors[i]
            ranking = corpus.rank(tokens[i], vector, pool)
            top = np.asarray([c.index for c in ranking.candidates], dtype=np.int64)
            columns = calibration.features(ranking.fused[pool], top_in_pool(top, pool))
            rows = [p.features for p in decision.pairs(items[i], [items[int(j)] for j in top], columns)]
            coef = decision.coefficients(hybrid=vectors is not None)
            probs = decision.probabilities(rows, coef)
            candidates = [
                Candidate(c.index, c.fused, float(p)) for c, p in zip(ranking.candidates, probs, strict=True)
            ]
            outcome = Outcome(report, candidates, ids, linked=frozenset(links.get(report.id, ())))
            if judged:
                outcome.original_rank = ranking.rank_of(position[original.id])  # type: ignore[union-attr]
            outcome.features = rows
            outcomes.append(outcome)
            if progress and (i + 1) % 500 == 0:
                progress(f"{project}: ranked {i + 1}/{len(members)}")
    return outcomes


def measure(
    outcomes: Sequence[Outcome], ks: Sequence[int], threshold: float, max_suggestions: int
) -> Metrics:
    """Recall@k and MRR over reports whose original is in the file; precision and recall of commenting.

    A comment is made when the best candidate's calibrated score reaches the threshold; it is correct when a
    report linked to this one as a duplicate (its original, or a duplicate of it filed earlier) is among the
    suggestions it shows. Precision: correct comments / comments, over every report with earlier reports,
    except reports closed as duplicates whose original is outside the file (their truth is unknown).
    Recall: reports whose original is in the file that got a correct comment / all such reports.
    """
    judged = [o for o in outcomes if o.original_rank is not None]
    n = len(judged)
    ranks = np.asarray([o.original_rank for o in judged], dtype=np.float64)
    recall = {k: float((ranks <= k).mean()) if n else 0.0 for k in ks}
    mrr = float((1.0 / ranks).mean()) if n else 0.0
    comments = correct = found = 0
    for outcome in outcomes:
        if not outcome.truth_known:
            continue
        shown = suggestions(outcome.candidates, threshold, max_suggestions)
        if not shown:
            continue
        comments += 1
        if any(outcome.is_linked(c) for c in shown):
            correct += 1
            found += outcome.original_rank is not None
    precision = correct / comments if comments else 0.0
    decision_recall = found / n if n else 0.0
    return Metrics(n, recall, mrr, threshold, precision, decision_recall, comments)


CURVE_THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""The main points of the precision-recall curve the eval prints (the default threshold is added)."""


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    comments: int
    precision: float
    recall: float

    def as_json(self) -> dict[str, object]:
        return {
            "threshold": self.threshold,
            "comments": self.comments,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
        }


def curve(outcomes: Sequence[Outcome], thresholds: Sequence[float], max_suggestions: int) -> list[CurvePoint]:
    """The decision's comments, precision and recall at each threshold (ascending)."""
    points = []
    for threshold in sorted(set(thresholds)):
        m = measure(outcomes, [1], threshold, max_suggestions)
        points.append(CurvePoint(threshold, m.comments, m.precision, m.decision_recall))
    return points


def per_project(
    outcomes: Sequence[Outcome], ks: Sequence[int], threshold: float, max_suggestions: int
) -> dict[str, Metrics]:
    """measure() for each project alone, by project name."""
    projects = sorted({o.report.project for o in outcomes})
    return {
        p: measure([o for o in outcomes if o.report.project == p], ks, threshold, max_suggestions)
        for p in projects
    }


RELIABILITY_EDGES = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
"""Bins of the best candidate's calibrated score for the reliability table."""


@dataclass(frozen=True)
class Bin:
    """Reports whose best candidate scored in [low, high): how many, their mean score, how many were right."""

    low: float
    high: float
    n: int
    mean_score: float
    right: int

    @property
    def observed(self) -> float:
        return self.right / self.n if self.n else 0.0


def reliability(
    outcomes: Sequence[Outcome], edges: Sequence[float] = RELIABILITY_EDGES
) -> dict[str, list[Bin]]:
    """Per project: does a best-candidate score of p come true about p of the time (calibration)?

    Over reports whose truth is known; "right" = the best candidate is linked to the report as a duplicate.
    A calibrated score has `observed` close to `mean_score` in every bin, and in every project alike.
    """
    scored: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.truth_known and outcome.candidates:
            best = outcome.candidates[0]
            scored[outcome.report.project].append((best.score, outcome.is_linked(best)))
    table: dict[str, list[Bin]] = {}
    for project, pairs in sorted(scored.items()):
        rows = []
        for low, high in pairwise(edges):
            inside = [(s, r) for s, r in pairs if low <= s < high or (high == edges[-1] and s == high)]
            if inside:
                mean = sum(s for s, _ in inside) / len(inside)
                rows.append(Bin(low, high, len(inside), mean, sum(r for _, r in inside)))
        table[project] = rows
    return table


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
