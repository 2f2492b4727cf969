"""Scoring shadow runs against what maintainers did afterwards: pure functions over what was read."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

DUPLICATE_LABELS = frozenset({"duplicate"})
"""Labels that mark an item as a duplicate whatever the repository's own triage label is."""

TP, FP, FN, TN, UNDECIDED, UNKNOWN = (
    "true positive", "false positive", "missed", "true negative", "undecided", "unknown",
)  # fmt: skip
BOTH, PROPOSED_ONLY, MISSED, NEITHER, PENDING = "both", "proposed only", "missed", "neither", "pending"


@dataclass(frozen=True)
class ItemAfter:
    """What became of a triaged item: read from GitHub (state, reason, labels) and the ledger (verdicts)."""

    state: str
    state_reason: str | None = None
    labels: tuple[str, ...] = ()
    verdicts: dict[int, bool] = field(default_factory=dict)
    """Partner -> True (confirmed duplicate pair) or False (`/steward not-duplicate #N`)."""
    duplicate_of: int | None = None
    """The original the index knows (from a "Duplicate of #N" close)."""


@dataclass(frozen=True)
class DuplicateCase:
    repo: str
    number: int
    shown: tuple[int, ...]
    scores: dict[int, float]
    outcome: str
    """closed as duplicate, not a duplicate, corrected, open, or why it could not be read."""
    verdict: str
    original: int | None = None
    original_named: bool | None = None
    """Whether the original maintainers named was among the suggestions (None: no original known)."""


def judge_duplicate(
    repo: str, number: int, shown: tuple[int, ...], scores: dict[int, float], after: ItemAfter | str,
    label: str | None = None,
) -> DuplicateCase:  # fmt: skip
    """One item's verdict: a suggestion (or silence) against whether it turned out to be a duplicate.

    Duplicate: closed with state_reason `duplicate`, or labelled `duplicate` (or the repository's own
    duplicates label) by hand, or a confirmed pair. Not a duplicate: a `not-duplicate` correction of one
    of the suggestions, or closed for another reason. Still open without either: undecided.
    """
    if isinstance(after, str):
        return DuplicateCase(repo, number, shown, scores, after, UNKNOWN)
    marks = {name.lower() for name in after.labels}
    wanted = DUPLICATE_LABELS | ({label.lower()} if label else set())
    confirmed = [other for other, same in after.verdicts.items() if same]
    duplicate = after.state_reason == "duplicate" or bool(marks & wanted) or bool(confirmed)
    corrected = any(after.verdicts.get(other) is False for other in shown)
    original = after.duplicate_of if after.duplicate_of is not None else (confirmed[0] if confirmed else None)
    named = (original in shown) if original is not None and shown else None
    if duplicate:
        outcome = (
            "closed as duplicate" if after.state_reason == "duplicate"
            else "labelled duplicate" if marks & wanted
            else f"confirmed duplicate of #{confirmed[0]}"
        )  # fmt: skip
        verdict = TP if shown else FN
    elif corrected or after.state == "closed":
        outcome = (
            "corrected: not a duplicate" if corrected else f"closed ({after.state_reason or 'no reason'})"
        )
        verdict = FP if shown else TN
    else:
        outcome, verdict = "open", UNDECIDED
    return DuplicateCase(repo, number, shown, scores, outcome, verdict, original, named)


@dataclass(frozen=True)
class DuplicateSummary:
    counts: dict[str, int]
    precision: float | None
    recall: float | None
    corrected: int
    originals_named: int
    originals_known: int


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def summarize_duplicates(cases: list[DuplicateCase]) -> DuplicateSummary:
    counts = Counter(case.verdict for case in cases)
    tp, fp, fn = counts[TP], counts[FP], counts[FN]
    named = [case.original_named for case in cases if case.original_named is not None]
    return DuplicateSummary(
        counts={name: counts[name] for name in (TP, FP, FN, TN, UNDECIDED, UNKNOWN)},
        precision=_ratio(tp, tp + fp),
        recall=_ratio(tp, tp + fn),
        corrected=sum(case.outcome.startswith("corrected") for case in cases),
        originals_named=sum(named),
        originals_known=len(named),
    )


@dataclass(frozen=True)
class DocsCase:
    repo: str
    number: int
    run_id: str
    entry: str | None
    """The changelog line the shadow run would have added (None: it proposed none)."""
    by_hand: bool | None
    """Whether a pull request for the item added to the changelog itself (None: none merged yet)."""
    pulls: tuple[int, ...]
    verdict: str
    note: str = ""


def judge_docs(
    repo: str, number: int, run_id: str, entry: str | None, by_hand: bool | None, pulls: tuple[int, ...],
    note: str = "",
) -> DocsCase:  # fmt: skip
    """One docs run: its proposed entry against whether people added one by hand in the change."""
    if by_hand is None:
        verdict = PENDING if not note else UNKNOWN
    elif entry is not None:
        verdict = BOTH if by_hand else PROPOSED_ONLY
    else:
        verdict = MISSED if by_hand else NEITHER
    return DocsCase(repo, number, run_id, entry, by_hand, pulls, verdict, note)


@dataclass(frozen=True)
class DocsSummary:
    counts: dict[str, int]
    agreement: float | None
    """Share of decided runs where Steward and the maintainers agreed (both added, or neither did)."""


def summarize_docs(cases: list[DocsCase]) -> DocsSummary:
    counts = Counter(case.verdict for case in cases)
    decided = counts[BOTH] + counts[PROPOSED_ONLY] + counts[MISSED] + counts[NEITHER]
    return DocsSummary(
        counts={name: counts[name] for name in (BOTH, PROPOSED_ONLY, MISSED, NEITHER, PENDING, UNKNOWN)},
        agreement=_ratio(counts[BOTH] + counts[NEITHER], decided),
    )
