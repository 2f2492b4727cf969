"""Reading the ledger across repositories, for the dashboard: filtered keyset pages, reasons, feedback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select, tuple_

from jobs.ledger.base import LedgerBase
from jobs.ledger.states import RunState
from jobs.ledger.views import RunView, aware
from jobs.models.issue_index import DuplicateFeedbackRow
from jobs.models.runs import RunRow, TransitionRow


@dataclass(frozen=True)
class RunFilter:
    """What the run list is narrowed to; None is no filter."""

    repo: str | None = None
    workflow: str | None = None
    state: RunState | None = None
    engine: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last run's creation time and id (newest first, ties by id)."""

    created_at: datetime
    id: str


@dataclass(frozen=True)
class Feedback:
    """A maintainer's verdict on a pair of items (a `not-duplicate` is a correction)."""

    repo: str
    number: int
    other: int
    duplicate: bool
    source: str
    actor: str
    at: datetime


def _where(query: Select[tuple[RunRow]], f: RunFilter) -> Select[tuple[RunRow]]:
    if f.repo is not None:
        query = query.where(RunRow.repo == f.repo)
    if f.workflow is not None:
        query = query.where(RunRow.workflow == f.workflow)
    if f.state is not None:
        query = query.where(RunRow.state == RunState(f.state).value)
    if f.engine is not None:
        query = query.where(RunRow.engine == f.engine)
    if f.since is not None:
        query = query.where(RunRow.created_at >= f.since)
    if f.until is not None:
        query = query.where(RunRow.created_at < f.until)
    return query


class BrowseMixin(LedgerBase):
    async def page_runs(
        self, where: RunFilter, *, after: Cursor | None = None, limit: int = 50
    ) -> tuple[list[RunView], Cursor | None]:
        """One page of runs, newest first, and the cursor of the next page (None: this is the last)."""
        query = _where(select(RunRow), where)
        if after is not None:
            query = query.where(tuple_(RunRow.created_at, RunRow.id) < (after.created_at, after.id))
        query = query.order_by(RunRow.created_at.desc(), RunRow.id.desc()).limit(limit + 1)
        async with self._sessions() as session:
            rows = [RunView.of(row) for row in await session.scalars(query)]
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (Cursor(rows[-1].created_at, rows[-1].id) if more and rows else None)

    async def distinct(self, column: str) -> list[str]:
        """The values one column takes (repo, workflow or engine), sorted, for the filters' choices."""
        attribute = {"repo": RunRow.repo, "workflow": RunRow.workflow, "engine": RunRow.engine}[column]
        async with self._sessions() as session:
            return sorted(str(v) for v in await session.scalars(select(attribute).distinct().limit(1000)))

    async def last_reasons(self, run_ids: Sequence[str]) -> dict[str, str]:
        """Each run's latest transition reason: why it failed, was cancelled, or what triage did."""
        if not run_ids:
            return {}
        newest = (
            select(func.max(TransitionRow.id))
            .where(TransitionRow.run_id.in_(list(run_ids)))
            .group_by(TransitionRow.run_id)
        )
        query = select(TransitionRow.run_id, TransitionRow.reason).where(TransitionRow.id.in_(newest))
        async with self._sessions() as session:
            return {run_id: reason for run_id, reason in await session.execute(query)}

    async def corrections(self, limit: int = 50, *, only_not_duplicate: bool = True) -> list[Feedback]:
        """Maintainers' verdicts on duplicate suggestions, newest first (by default only `not-duplicate`)."""
        query = select(DuplicateFeedbackRow).order_by(DuplicateFeedbackRow.id.desc()).limit(limit)
        if only_not_duplicate:
            query = query.where(DuplicateFeedbackRow.duplicate.is_(False))
        async with self._sessions() as session:
            return [
                Feedback(r.repo, r.number, r.other, r.duplicate, r.source, r.actor, aware(r.created_at))
                for r in await session.scalars(query)
            ]
