"""What a tests run did, as the PR body reads it."""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.runs.workflow import Outcome
from jobs.workflows.tests.measure import FileCoverage
from jobs.workflows.tests.session import Command


@dataclass(frozen=True)
class Dropped:
    """A candidate not kept, and why (failed, flaky, no new coverage, too slow, not portable)."""

    id: str
    path: str
    reason: str
    detail: str


@dataclass(frozen=True)
class Kept:
    """A kept test: where it was written, under which name, and what it adds."""

    name: str
    file: str
    path: str
    gain: str


@dataclass
class TestsOutcome(Outcome):
    """The outcome with coverage before and after per file, the kept and dropped tests, the commands."""

    __test__ = False  # not a pytest class

    affected: list[str] = field(default_factory=list)
    before: dict[str, FileCoverage] = field(default_factory=dict)
    after: dict[str, FileCoverage] = field(default_factory=dict)
    kept: list[Kept] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    generated: int = 0
    suite_passed: bool | None = None
    """No test fails that passed before the kept tests (None: not run)."""
    failing_before: list[str] = field(default_factory=list)
    """Tests of the suite that failed before any test was added."""
    refused: list[str] = field(default_factory=list)
    """Test files that would have landed outside the writable paths, so were not written."""
    placed: dict[str, str] = field(default_factory=dict)
    """A revision's word per source on its test file: rewritten in place, or a person's file kept."""
