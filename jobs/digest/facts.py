"""What a digest says, gathered before it is written: items with their links, counted and listed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Item:
    """An issue, a pull request or a run's item, as a digest line shows it."""

    number: int
    title: str
    url: str
    author: str = ""
    at: datetime | None = None
    """When it happened (merged, opened, closed, asked for review), for ordering and ages."""
    note: str = ""
    """Steward's own words after the title (never outside text)."""


@dataclass
class GitHubFacts:
    """What GitHub says about the window (and, for open pull requests, about now)."""

    merged: list[Item] = field(default_factory=list)
    opened: list[Item] = field(default_factory=list)
    closed: list[Item] = field(default_factory=list)
    waiting: list[Item] = field(default_factory=list)
    """Open, ready pull requests with review requests pending, longest waiting first."""
    stale: list[Item] = field(default_factory=list)
    """Open pull requests not updated for `stale_days`, least recently updated first."""
    first_timers: dict[str, list[Item]] = field(default_factory=dict)
    """Login -> their pull requests in the window, for authors whose first contribution it is."""
    reviewers: dict[str, list[Item]] = field(default_factory=dict)
    """Requested reviewer (login, or `org/team`) -> the open pull requests waiting on them."""
    truncated: list[str] = field(default_factory=list)
    """Lists that hit their page bound: the digest says so instead of pretending to be complete."""


@dataclass
class LedgerFacts:
    """What Steward's own ledger says about the window."""

    proposed: list[Item] = field(default_factory=list)
    merged: list[Item] = field(default_factory=list)
    closed: list[Item] = field(default_factory=list)
    failed: list[Item] = field(default_factory=list)
    runs: int = 0
    tokens: int = 0
    cost: float = 0.0
    awaiting_approval: list[Item] = field(default_factory=list)
    flagged: list[Item] = field(default_factory=list)
    """Items triage commented on with likely duplicates."""
    confirmed: list[Item] = field(default_factory=list)
    """Items maintainers closed as duplicates."""
    corrected: list[Item] = field(default_factory=list)
    """Suggestions maintainers said were wrong (`/steward not-duplicate`)."""
