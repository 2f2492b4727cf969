"""Reading the ledger: one run, its trace, the runs of an issue, and the counts behind noise limits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from jobs.ledger.base import LedgerBase
from jobs.ledger.states import OPEN, RETRYABLE, RunNotFound, RunState
from jobs.ledger.views import (
    ApprovalDecision,
    ApprovalView,
    NoiseCounts,
    ProposalView,
    RunTrace,
    RunView,
    StepView,
    TransitionView,
    aware,
    utcnow,
)
from jobs.models.runs import ApprovalRow, ProposalRow, RunRow, StepRow, TransitionRow

NOISE_WINDOW = timedelta(days=1)
"""The window of the runs-a-day limit."""


def _values(states: Iterable[RunState]) -> list[str]:
    return [RunState(state).value for state in states]


class QueriesMixin(LedgerBase):
    async def get_run(self, run_id: str) -> RunView | None:
        async with self._sessions() as session:
            row = await session.get(RunRow, run_id)
            return RunView.of(row) if row is not None else None

    async def require_run(self, run_id: str) -> RunView:
        run = await self.get_run(run_id)
        if run is None:
            raise RunNotFound(run_id)
        return run

    async def trace(self, run_id: str) -> RunTrace:
        """Everything recorded about a run, oldest first."""
        async with self._sessions() as session:
            run = RunView.of(await self._row(session, run_id))
            transitions = await session.scalars(
                select(TransitionRow).where(TransitionRow.run_id == run_id).order_by(TransitionRow.id)
            )
            steps = await session.scalars(
                select(StepRow).where(StepRow.run_id == run_id).order_by(StepRow.seq)
            )
            approvals = await session.scalars(
                select(ApprovalRow).where(ApprovalRow.run_id == run_id).order_by(ApprovalRow.id)
            )
            proposals = await session.scalars(
                select(ProposalRow).where(ProposalRow.run_id == run_id).order_by(ProposalRow.id)
            )
            return RunTrace(
                run=run,
                transitions=[TransitionView.of(row) for row in transitions],
                steps=[StepView.of(row) for row in steps],
                approvals=[ApprovalView.of(row) for row in approvals],
                proposals=[ProposalView.of(row) for row in proposals],
            )

    async def accepted_approvals(self, run_id: str) -> list[ApprovalView]:
        """The run's accepted approvals, oldest first: the nth is the nth round of its work."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ApprovalRow)
                .where(ApprovalRow.run_id == run_id, ApprovalRow.decision == ApprovalDecision.ACCEPTED.value)
                .order_by(ApprovalRow.id)
            )
            return [ApprovalView.of(row) for row in rows]

    async def list_runs(
        self, repo: str | None = None, state: RunState | None = None, limit: int = 50
    ) -> list[RunView]:
        """Newest first, optionally of one repository and one state."""
        query = select(RunRow).order_by(RunRow.created_at.desc()).limit(limit)
        if repo is not None:
            query = query.where(RunRow.repo == repo)
        if state is not None:
            query = query.where(RunRow.state == RunState(state).value)
        async with self._sessions() as session:
            return [RunView.of(row) for row in await session.scalars(query)]

    async def runs_for(self, repo: str, number: int, limit: int = 20) -> list[RunView]:
        """The runs on one issue or pull request, newest first (`/steward status`)."""
        query = (
            select(RunRow)
            .where(RunRow.repo == repo, RunRow.number == number)
            .order_by(RunRow.created_at.desc())
            .limit(limit)
        )
        async with self._sessions() as session:
            return [RunView.of(row) for row in await session.scalars(query)]

    async def has_run(self, repo: str, number: int, workflow: str) -> bool:
        """Whether this workflow ever ran here (e.g. triage: only then can a duplicates comment exist)."""
        query = (
            select(RunRow.id)
            .where(RunRow.repo == repo, RunRow.number == number, RunRow.workflow == workflow)
            .limit(1)
        )
        async with self._sessions() as session:
            return await session.scalar(query) is not None

    async def active_run(
        self, repo: str, number: int, workflow: str, states: Iterable[RunState] = OPEN
    ) -> RunView | None:
        """The newest run of this workflow here that is not over (to refuse a second start)."""
        query = (
            select(RunRow)
            .where(RunRow.repo == repo, RunRow.number == number, RunRow.workflow == workflow)
            .where(RunRow.state.in_(_values(states)))
            .order_by(RunRow.created_at.desc())
            .limit(1)
        )
        async with self._sessions() as session:
            row = await session.scalar(query)
            return RunView.of(row) if row is not None else None

    async def runs_in(self, repo: str, number: int, states: Iterable[RunState]) -> list[RunView]:
        """Runs here in the given states, newest first (`/steward cancel` takes the in-flight ones)."""
        query = (
            select(RunRow)
            .where(RunRow.repo == repo, RunRow.number == number, RunRow.state.in_(_values(states)))
            .order_by(RunRow.created_at.desc())
        )
        async with self._sessions() as session:
            return [RunView.of(row) for row in await session.scalars(query)]

    async def last_retryable(self, repo: str, number: int) -> RunView | None:
        """The newest failed or cancelled run here that has not been retried yet."""
        child = aliased(RunRow)
        retried = select(child.id).where(child.retry_of == RunRow.id).exists()
        query = (
            select(RunRow)
            .where(RunRow.repo == repo, RunRow.number == number, RunRow.state.in_(_values(RETRYABLE)))
            .where(~retried)
            .order_by(RunRow.created_at.desc())
            .limit(1)
        )
        async with self._sessions() as session:
            row = await session.scalar(query)
            return RunView.of(row) if row is not None else None

    async def noise_counts(
        self, repo: str, window: timedelta = NOISE_WINDOW, now: datetime | None = None
    ) -> NoiseCounts:
        """Runs created in the window, open proposals, and when the window frees its oldest slot."""
        since = (now or utcnow()) - window
        async with self._sessions() as session:
            in_window = await session.execute(
                select(func.count(RunRow.id), func.min(RunRow.created_at)).where(
                    RunRow.repo == repo, RunRow.created_at >= since
                )
            )
            count, oldest = in_window.one()
            proposed_here = (RunRow.repo == repo, RunRow.state == RunState.PROPOSED.value)
            # a revision proposes in its parent's pull request: count pull requests, not proposing runs
            pulls = await session.scalar(
                select(func.count(func.distinct(RunRow.pr_number))).where(*proposed_here)
            )
            unnumbered = await session.scalar(
                select(func.count(RunRow.id)).where(*proposed_here, RunRow.pr_number.is_(None))
            )
            proposed = int(pulls or 0) + int(unnumbered or 0)
        return NoiseCounts(
            runs_in_window=int(count),
            open_proposed=int(proposed or 0),
            window_resets_at=aware(oldest) + window if oldest is not None else None,
        )
