"""The decision to comment: features of a (query, candidate) pair beyond the fused score, and why they match.

GitHub's look-alikes that no maintainer calls duplicates — automated PRs (bumps, syncs, regenerated files),
backports of one change to several branches, template text — score high on text similarity by construction.
These features let a logistic model (jobs/duplicates/decision_coef.py) tell them apart from real duplicates.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from jobs.duplicates import decision_coef
from jobs.duplicates.text import words

FEATURES = (
    "fused",
    "margin",
    "spread",
    "top",
    "content",
    "template_share",
    "template_only",
    "automated",
    "other_branch",
    "masked_title",
    "shared_ref",
    "shared_fix",
    "mentions",
    "files",
    "files_disjoint",
    "age",
    "cand_closed",
    "cand_merged",
    "cand_duplicate",
    "bias",
)
"""One row per candidate: the ranking's own scale-free scores (fused score, margin over the best other, spread
over the weakest of the top ones, 1 for the top candidate), the set overlap of content words once template
lines are removed, how much of the raw overlap was template, either item automated, the two aimed at different
branches, titles equal once versions and dates are masked, a shared issue reference (#N), and the overlap of
changed files (Jaccard; `files_disjoint` when both lists are known and share nothing), the age gap between the
two (log days, less the mean over the top candidates: older than the others is negative, and unknown dates
or a repository's pace shift nothing) and the candidate's state (open is the baseline: closed, merged,
closed as a duplicate)."""
AGE_SCALE_DAYS = 3650
"""The age gap is log(1 + days) / log(1 + AGE_SCALE_DAYS), capped at 1: a day is 0.09, a year 0.72."""
STATES = ("open", "closed", "merged", "duplicate")

TEMPLATE_MIN_ITEMS = 3
"""A body line found in this many of the items compared (the query and its top candidates) is template."""
TEMPLATE_ONLY_CONTENT = 0.05
TEMPLATE_ONLY_SHARE = 0.2
"""A template-only match: under 5% of content words shared once template lines are gone, while the template
made at least 20 points of the raw overlap."""
KNOWN_TEMPLATE = frozenset({"no description provided.", "no description provided"})

BOT_LOGIN = re.compile(
    r"\[bot\]$|(^|[-_])bot$|^(dependabot|renovate|greenkeeper|snyk|pyup|mergify|imgbot|allcontributors)", re.I
)
AUTOMATED_TITLE = re.compile(
    r"""\bbump(s|ed)?\b.+\bfrom\b.+\bto\b           # "Bump lodash from 4.17.19 to 4.17.21"
    | \bupdate\s+dependenc(y|ies)\b                 # renovate, dependency flows
    | \[(auto|automated|bot|ci\ skip)\]             # "[AUTO]: updating bindings", "[ci skip]"
    | \bauto(matic(ally)?|mated)?[- ](update|generated|sync|merge)
    | \bsync\b.+\bupstream\b | \bupstream\b.+\bsync\b
    | \bfeed\s+update\b | \bupdate\s+branding\b
    | ^\s*(chore|build)\(deps(-dev)?\)
    """,
    re.I | re.X,
)
AUTOMATED_BODY = re.compile(
    r"\bauto(matically)?[- ]?(generated|created|opened)\b"
    r"|\bthis (pr|pull request) (was|is) (created|opened) by\b",
    re.I,
)
BRANCH_TAG = re.compile(
    r"""^\s*\[(?P<bracket>[^\]]*(\d|release|branch|stable|master|main)[^\]]*)\]  # "[release/3.1] x"
    | ^\s*(?P<lead>v?\d+(\.\d+)+(\.x)?)\b                                        # "v0.15 update key"
    | \binto\s+(?P<into>[\w./-]*\d[\w./-]*)\s*$                                  # "Backport of X into v0.15"
    """,
    re.I | re.X,
)
BACKPORT = re.compile(r"\bback[- ]?port(s|ed|ing)?\b|\bcherry[- ]?pick(s|ed)?\b|^\s*\[?port\b", re.I)
MASK = re.compile(r"\S*\d\S*")
REF = re.compile(r"(?:(?<![\w/&])#|\bticket\s+#?|\bissue\s+#?|\bbug\s+#?)(\d{2,7})\b", re.I)
FIX_REF = re.compile(
    r"\b(?:fix(?:e[sd])?|close[sd]?|resolve[sd]?)\b[\s:]*(?:issue\s+|ticket\s+|bug\s+)?#?(\d{2,7})\b", re.I
)


@dataclass(frozen=True)
class Item:
    """What the decision reads of one issue or pull request; unknown fields stay empty (or None)."""

    title: str
    body: str
    number: int | None = None
    author: str = ""
    author_type: str = ""
    """user or bot, from GitHub's `user.type`; empty when unknown."""
    base_branch: str = ""
    """A pull request's base branch; empty for issues and when unknown."""
    files: tuple[str, ...] | None = None
    """A pull request's changed files (bounded); None when unknown."""
    created: float | None = None
    """When it was opened (seconds since the epoch); None when unknown or not a real date."""
    state: str = ""
    """open, closed, merged or duplicate (closed as one); empty when unknown."""


def age_gap(a: Item, b: Item) -> float:
    """The time between the two items on a log scale from 0 (same moment) to 1 (ten years); 0 if unknown."""
    if a.created is None or b.created is None:
        return 0.0
    days = abs(a.created - b.created) / 86400.0
    return min(1.0, math.log1p(days) / math.log1p(AGE_SCALE_DAYS))


def is_automated(item: Item) -> bool:
    """Opened by a bot or shaped like an automated change (dependency bump, upstream sync, regeneration)."""
    if item.author_type == "bot" or (item.author and BOT_LOGIN.search(item.author)):
        return True
    return bool(AUTOMATED_TITLE.search(item.title) or AUTOMATED_BODY.search(item.body[:2000]))


def branch_marker(item: Item) -> str:
    """The branch an item names in its title ("[release/3.1]", "v0.15", "into v0.14"), lowercased, or ''."""
    found = BRANCH_TAG.search(item.title)
    if found is None:
        return ""
    return next(g for g in (found.group("bracket"), found.group("lead"), found.group("into")) if g).lower()


def other_branch(query: Item, candidate: Item) -> bool:
    """One change aimed at two branches: base branches differ, title branch markers differ, or a backport."""
    if query.base_branch and candidate.base_branch and query.base_branch != candidate.base_branch:
        return True
    if branch_marker(query) != branch_marker(candidate):
        return True
    return bool(BACKPORT.search(query.title)) != bool(BACKPORT.search(candidate.title))


def masked_title(title: str) -> str:
    """The title with every token holding a digit (versions, dates, build numbers) masked."""
    return " ".join(MASK.sub("#", title.lower()).split())


def refs(item: Item, pattern: re.Pattern[str] = REF) -> set[int]:
    """Issue numbers the item refers to ("#123", "ticket 123"), its own number left out; with FIX_REF only
    those it says it fixes ("Fixes #123", "Fixed #123 --", "closes #123")."""
    found = {int(m) for m in pattern.findall(f"{item.title}\n{item.body}")}
    found.discard(item.number or -1)
    return found


def mentions(a: Item, b: Item) -> bool:
    """One item names the other by number ("Backport of #12", "follow-up to #12", "same as #12")."""
    return (b.number is not None and b.number in refs(a)) or (a.number is not None and a.number in refs(b))


def _line_key(line: str) -> str:
    return " ".join(line.lower().split())


def template_lines(bodies: Sequence[str], known: frozenset[str] = frozenset()) -> frozenset[str]:
    """Lines (whitespace-normalised) found in at least TEMPLATE_MIN_ITEMS of the bodies, plus known ones."""
    counts: Counter[str] = Counter()
    for body in bodies:
        counts.update({key for line in body.splitlines() if (key := _line_key(line))})
    frequent = {line for line, n in counts.items() if n >= TEMPLATE_MIN_ITEMS}
    return frozenset(frequent | known | KNOWN_TEMPLATE)


def template_keys(text: str) -> frozenset[str]:
    """A repository's issue or PR template file as line keys (its headings, checklists, comments)."""
    return frozenset(key for line in text.splitlines() if len(key := _line_key(line)) > 3)


def strip_template(body: str, template: frozenset[str]) -> str:
    return "\n".join(line for line in body.splitlines() if _line_key(line) not in template)


def jaccard(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


@dataclass(frozen=True)
class Pair:
    """One query against one candidate, with the words they share (for the comment's reason)."""

    features: list[float]
    title_words: list[str]
    files: list[str]
    error_line: str
    refs: list[int]


ERROR_LINE = re.compile(r"(error|exception|traceback|panic|failed|fatal)", re.I)


def _error_lines(body: str) -> set[str]:
    return {key for line in body.splitlines() if ERROR_LINE.search(line) and len(key := _line_key(line)) > 12}


def _content(item: Item, template: frozenset[str]) -> set[str]:
    return set(words(item.title)) | set(words(strip_template(item.body, template)))


def pairs(
    query: Item,
    candidates: Sequence[Item],
    ranking: npt.NDArray[np.float64],
    known_template: frozenset[str] = frozenset(),
) -> list[Pair]:
    """Features of the query against each of its top candidates (best first); `ranking` holds the
    calibration's fused / margin / spread columns of those candidates (calibration.features)."""
    template = template_lines([query.body, *(c.body for c in candidates)], known_template)
    q_content = _content(query, template)
    q_raw = set(words(query.title)) | set(words(query.body))
    q_title = set(words(query.title))
    q_masked = masked_title(query.title)
    q_refs = refs(query)
    q_fixes = refs(query, FIX_REF)
    q_errors = _error_lines(query.body)
    ages = [age_gap(query, cand) for cand in candidates]
    mean_age = sum(ages) / len(ages) if ages else 0.0
    out: list[Pair] = []
    for i, cand in enumerate(candidates):
        c_content = _content(cand, template)
        content = jaccard(q_content, c_content)
        raw = jaccard(q_raw, set(words(cand.title)) | set(words(cand.body)))
        template_share = max(0.0, raw - content)
        c_refs = refs(cand)
        shared_refs = sorted((q_refs & c_refs) - {query.number, cand.number})
        shared_fix = bool(q_fixes & refs(cand, FIX_REF))
        files_known = query.files is not None and cand.files is not None and bool(query.files or cand.files)
        q_files, c_files = set(query.files or ()), set(cand.files or ())
        file_overlap = jaccard(q_files, c_files) if files_known else 0.0
        masked = masked_title(cand.title) == q_masked and cand.title.strip().lower() != query.title.lower()
        automated = 1.0 if is_automated(query) or is_automated(cand) else 0.0
        branch = 1.0 if other_branch(query, cand) else 0.0
        fused = float(ranking[i][0])
        row = [
            fused,
            float(ranking[i][1]),
            float(ranking[i][2]),
            1.0 if i == 0 else 0.0,
            content,
            template_share,
            1.0 if content < TEMPLATE_ONLY_CONTENT and template_share >= TEMPLATE_ONLY_SHARE else 0.0,
            automated,
            branch,
            1.0 if masked else 0.0,
            1.0 if shared_refs else 0.0,
            1.0 if shared_fix else 0.0,
            1.0 if mentions(query, cand) else 0.0,
            file_overlap,
            1.0 if files_known and not q_files & c_files else 0.0,
            ages[i] - mean_age,
            1.0 if cand.state == "closed" else 0.0,
            1.0 if cand.state == "merged" else 0.0,
            1.0 if cand.state == "duplicate" else 0.0,
            1.0,
        ]
        shared_errors = sorted(q_errors & _error_lines(cand.body), key=len, reverse=True)
        out.append(
            Pair(
                features=row,
                title_words=sorted(q_title & set(words(cand.title))),
                files=sorted(q_files & c_files),
                error_line=shared_errors[0] if shared_errors else "",
                refs=shared_refs,
            )
        )
    return out


VETO = ("template_only", "automated", "other_branch")
"""Never suggested, whatever the text says: a match on template text only, a pair where either item is
automated (a bump, a sync, a regeneration, a bot's PR), and one change aimed at two branches. On duppr-dev
the last two are almost never labelled duplicates (automated: 0 of 199 among the top 3 candidates; other
branch: 6 of 275), yet they are the most alike pairs."""
_VETO_COLUMNS = [FEATURES.index(name) for name in VETO]


def vetoed(row: Sequence[float]) -> bool:
    return any(row[i] for i in _VETO_COLUMNS)


def probabilities(rows: Sequence[Sequence[float]], coef: Sequence[float]) -> npt.NDArray[np.float64]:
    """The logistic of each row's linear score (0 for a vetoed pair): the chance the candidate is a
    duplicate a maintainer would accept."""
    if not rows:
        return np.zeros(0, dtype=np.float64)
    logits = np.asarray(rows, dtype=np.float64) @ np.asarray(coef, dtype=np.float64)
    probs = 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))
    return np.where([vetoed(row) for row in rows], 0.0, probs)


def coefficients(hybrid: bool) -> tuple[float, ...]:
    """The shipped coefficients for the retrieval mode (fitted by jobs/duplicates/fit.py)."""
    return decision_coef.HYBRID if hybrid else decision_coef.LEXICAL


def default_threshold(hybrid: bool) -> float:
    """The threshold a repository gets when it sets none: per retrieval mode, each chosen on the held-out
    curve for precision (fit.choose_threshold)."""
    return decision_coef.THRESHOLD if hybrid else decision_coef.LEXICAL_THRESHOLD
