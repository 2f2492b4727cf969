"""The seam between the run lifecycle and where its results go: GitHub (comments, branch, PR, status) or a
terminal and a local branch. The lifecycle (jobs.runs.finish) is the same for both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from jobs.ledger import RunView
from jobs.plan import Plan
from jobs.runs.work import WorkResult
from jobs.runs.workflow import WorkItem


@dataclass(frozen=True)
class Proposed:
    """Where the change was proposed: a pull request, or only a local branch."""

    where: str
    """In words, for the plan's status line: `#12`, or `local branch steward/docs/7`."""
    number: int | None = None
    url: str | None = None
    final: bool = False
    """Nothing follows on GitHub (a shadow run recorded its proposal): the run ends closed, not proposed."""


class Forge(Protocol):
    """What the lifecycle asks of the place a run reports to."""

    retry_hint: str
    """How a person runs it again, in words (`/steward retry`, or the same command)."""

    async def show_plan(self, run: RunView, plan: Plan, status: str = "") -> None:
        """Show the plan as the run stands now (GitHub: the one plan comment, edited in place)."""

    async def tell(self, run: RunView, text: str) -> None:
        """Say why a run stopped, once."""

    async def propose(self, run: RunView, plan: Plan, item: WorkItem, result: WorkResult) -> Proposed:
        """Propose the pushed commit in the run's workflow's words (GitHub: find or open the PR, set
        steward/review pending)."""
