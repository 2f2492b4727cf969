"""The run ledger: create runs, move them through the transition table, and annotate them."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, Self, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError

from app.observability.metrics import RUNS
from jobs.db import make_engine, migrate, sessions
from jobs.ledger.browse import BrowseMixin
from jobs.ledger.queries import QueriesMixin
from jobs.ledger.records import Approval, RecordsMixin
from jobs.ledger.states import (
    RETRYABLE,
    TERMINAL,
    NotRetryable,
    RunState,
    TransitionConflict,
    check_transition,
)
from jobs.ledger.views import RunView, utcnow
from jobs.models.runs import RunRow, TransitionRow
from jobs.plan import Plan

RUN_ID_PREFIX = "r-"
ENDS = TERMINAL | {RunState.PROPOSED}
"""The states steward_runs_total counts a run reaching (proposed, then merged or closed, is counted twice)."""

UPDATABLE = frozenset(
    {
        "config_digest",
        "policy",
        "limits",
        "sandbox_image",
        "sandbox_digest",
        "base_sha",
        "branch",
        "pr_number",
        "pr_url",
        "plan_comment_id",
        "installation_id",
        "engine",
        "revision_of",
        "mode",
    }
)
"""Run fields that may be filled in as the run learns them (update_run)."""


def new_run_id() -> str:
    return RUN_ID_PREFIX + secrets.token_hex(5)


class Ledger(RecordsMixin, QueriesMixin, BrowseMixin):
    """Every run and what happened in it; transitions are checked against one table, atomically."""

    @classmethod
    async def connect(cls, url: str, *, run_migrations: bool = True) -> Self:
        """Open the database at url (SQLite or PostgreSQL), bring its schema up to date, own the engine."""
        engine = make_engine(url)
        if run_migrations:
            await migrate(engine)
        return cls(sessions(engine), engine)

    async def create_run(
        self,
        repo: str,
        number: int,
        workflow: str,
        *,
        actor: str,
        actor_role: str = "",
        event: str = "",
        reason: str = "",
        delivery_id: str | None = None,
        idempotency_key: str | None = None,
        instructions: str = "",
        paths: Sequence[str] = (),
        retry_of: str | None = None,
        **fields: Any,
    ) -> RunView:
        """A new queued run; with an idempotency_key already used, the run it made before is returned."""
        unknown = set(fields) - UPDATABLE
        if unknown:
            raise TypeError(f"create_run: unknown fields {sorted(unknown)}")
        now = utcnow()
        row = RunRow(
            id=new_run_id(),
            repo=repo,
            number=number,
            workflow=workflow,
            state=RunState.QUEUED.value,
            engine=fields.pop("engine", "builtin"),
            mode=fields.pop("mode", "normal"),
            actor=actor,
            actor_role=actor_role,
            event=event,
            delivery_id=delivery_id,
            idempotency_key=idempotency_key,
            instructions=instructions,
            paths=list(paths),
            retry_of=retry_of,
            policy=fields.pop("policy", {}),
            limits=fields.pop("limits", {}),
            tool_calls=0,
            model_tokens=0,
            cost_usd=0.0,
            cpu_seconds=0.0,
            wall_seconds=0.0,
            created_at=now,
            updated_at=now,
            **fields,
        )
        transition = TransitionRow(
            run_id=row.id,
            from_state=None,
            to_state=RunState.QUEUED.value,
            at=now,
            actor=actor,
            reason=reason or (f"{event} by {actor}" if event else f"started by {actor}"),
        )
        try:
            async with self._sessions.begin() as session:
                session.add(row)
                await session.flush()
                session.add(transition)
        except IntegrityError:
            if idempotency_key is None:
                raise
            async with self._sessions() as session:
                existing = await session.scalar(
                    select(RunRow).where(RunRow.idempotency_key == idempotency_key)
                )
                if existing is None:
                    raise
                return RunView.of(existing)
        return await self.require_run(row.id)

    async def transition(
        self,
        run_id: str,
        to: RunState,
        *,
        actor: str,
        reason: str = "",
        expected: RunState | None = None,
        approval: Approval | None = None,
        plan: Plan | None = None,
        replacing: Plan | None = None,
    ) -> RunView:
        """Move the run to `to` if the table allows it from the current (or `expected`) state.

        The UPDATE carries `WHERE state = <the state checked>`, so of two workers racing, one wins and the
        other gets TransitionConflict; an illegal move raises IllegalTransition. Either way nothing changes.
        `approval` and `plan` (the approved plan) are stored in the same transaction: a worker dying just
        after cannot leave a run running with its approval or its ticks unrecorded. `replacing`: the plan
        the caller read; if the run holds another by now (it was remade meanwhile), nothing changes.
        """
        to = RunState(to)
        view = await self.require_run(run_id)
        current = view.state
        if expected is not None and current != expected:
            raise TransitionConflict(run_id, RunState(expected), to, current)
        if replacing is not None and view.plan != replacing:
            raise TransitionConflict(run_id, current, to, current)
        check_transition(run_id, current, to)
        now = utcnow()
        values: dict[str, Any] = {"state": to.value, "updated_at": now}
        if plan is not None:
            values["plan"] = plan.model_dump(mode="json")
            if plan.base_sha:
                values["base_sha"] = plan.base_sha
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(RunRow)
                .where(RunRow.id == run_id, RunRow.state == current.value)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            won = cast(CursorResult[Any], result).rowcount == 1
            if won:
                session.add(
                    TransitionRow(
                        run_id=run_id,
                        from_state=current.value,
                        to_state=to.value,
                        at=now,
                        actor=actor,
                        reason=reason,
                    )
                )
                if approval is not None:
                    session.add(approval.row(run_id))
        if not won:
            actual = await self.get_run(run_id)
            raise TransitionConflict(run_id, current, to, actual.state if actual else None)
        view = await self.require_run(run_id)
        if to in ENDS:
            RUNS.labels(view.workflow, view.engine, to.value).inc()
        return view

    async def retry(self, run_id: str, *, actor: str, actor_role: str = "", reason: str = "") -> RunView:
        """A new queued run repeating a failed or cancelled one (retrying twice returns the same new run);
        `actor_role` is the role of whoever asked for the retry, not of who asked for the first run."""
        old = await self.require_run(run_id)
        if old.state not in RETRYABLE:
            raise NotRetryable(f"run {run_id} is {old.state}; only failed or cancelled runs are retried")
        return await self.create_run(
            old.repo,
            old.number,
            old.workflow,
            actor=actor,
            actor_role=actor_role,
            event="retry",
            reason=reason or f"retry of {old.id} by {actor}",
            idempotency_key=f"retry:{old.id}",
            instructions=old.instructions,
            paths=old.paths,
            retry_of=old.id,
            revision_of=old.revision_of,  # a retried revision is still a revision, on the same branch
            branch=old.branch if old.revision_of else None,
            installation_id=old.installation_id,
            config_digest=old.config_digest,
            policy=old.policy,
            limits=old.limits,
            engine=old.engine,
        )

    async def update_run(self, run_id: str, **fields: Any) -> RunView:
        """Fill in what the run learned: base sha, sandbox image digest, plan comment id, pull request..."""
        unknown = set(fields) - UPDATABLE
        if unknown:
            raise TypeError(f"update_run: unknown fields {sorted(unknown)}")
        async with self._sessions.begin() as session:
            row = await self._row(session, run_id)
            for name, value in fields.items():
                setattr(row, name, value)
            row.updated_at = utcnow()
        return await self.require_run(run_id)

    async def set_plan(self, run_id: str, plan: Plan) -> None:
        """Store the plan as it stands (remade plans replace the old one; approvals keep the ticks used)."""
        async with self._sessions.begin() as session:
            row = await self._row(session, run_id)
            row.plan = plan.model_dump(mode="json")
            if plan.base_sha:
                row.base_sha = plan.base_sha
            row.updated_at = utcnow()

    async def add_cost(
        self,
        run_id: str,
        *,
        tool_calls: int = 0,
        model_tokens: int = 0,
        cost_usd: float = 0.0,
        cpu_seconds: float = 0.0,
        wall_seconds: float = 0.0,
    ) -> None:
        """Add to the run's running totals (atomic increments, safe from several tasks)."""
        async with self._sessions.begin() as session:
            await self._row(session, run_id)
            await session.execute(
                update(RunRow)
                .where(RunRow.id == run_id)
                .values(
                    tool_calls=RunRow.tool_calls + tool_calls,
                    model_tokens=RunRow.model_tokens + model_tokens,
                    cost_usd=RunRow.cost_usd + cost_usd,
                    cpu_seconds=RunRow.cpu_seconds + cpu_seconds,
                    wall_seconds=RunRow.wall_seconds + wall_seconds,
                    updated_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
