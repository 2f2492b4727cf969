"""What a run is about, and how its work step runs a command: the two things every engine shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.github.protocol import IssueRecord
from jobs.runs.revision.model import ReviewNote
from sandbox.base import CommandResult

__all__ = ["Exec", "WorkItem"]

Exec = Callable[[list[str] | str], Awaitable[CommandResult]]
"""Run one command in the run's sandbox (recorded in the ledger as an `exec` step)."""


@dataclass(frozen=True)
class WorkItem:
    """What a run is about: the issue or pull request, the words after the command, and the files in play."""

    issue: IssueRecord
    instructions: str = ""
    """Free text after the command (recorded as data; the built-in engines do not act on it)."""
    paths: tuple[str, ...] = ()
    """Paths named by the command (`/steward tests src/a.py`) or by `--paths` on the terminal."""
    changed_files: tuple[str, ...] = ()
    """On a pull request, the files it changes; on an issue, those of the pull requests linked to it."""
    review: tuple[ReviewNote, ...] = ()
    """A revision's review comments that its approved plan addresses (data for the agent, never orders)."""
