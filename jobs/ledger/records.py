"""Recording what a run did: its steps (with bounded output), approvals and proposals."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from jobs.ledger.base import LedgerBase
from jobs.ledger.views import ApprovalDecision, StepView, aware, utcnow
from jobs.models.runs import ApprovalRow, ProposalRow, RunRow, StepRow

DIFF_MAX_CHARS = 512 * 1024
"""The proposed diff kept per proposal; a longer one is cut, and says so."""
OUTPUT_EXCERPT_CHARS = 4000
"""Output kept in the ledger per step; the digest covers all of it."""
_HEAD = OUTPUT_EXCERPT_CHARS // 4


@dataclass(frozen=True)
class Approval:
    """An answer to a plan, as stored: alone (record_approval) or with the transition it causes."""

    actor: str
    decision: ApprovalDecision
    role: str = ""
    reason: str = ""
    steps_kept: tuple[str, ...] = ()
    steps_dropped: tuple[str, ...] = ()
    plan_digest: str = ""

    def row(self, run_id: str) -> ApprovalRow:
        return ApprovalRow(
            run_id=run_id, actor=self.actor, role=self.role, decision=ApprovalDecision(self.decision).value,
            reason=self.reason, steps_kept=list(self.steps_kept), steps_dropped=list(self.steps_dropped),
            plan_digest=self.plan_digest, at=utcnow(),
        )  # fmt: skip


def excerpt(output: str) -> str:
    """The start and the end of long output, with the cut said plainly."""
    if len(output) <= OUTPUT_EXCERPT_CHARS:
        return output
    tail = OUTPUT_EXCERPT_CHARS - _HEAD
    cut = len(output) - OUTPUT_EXCERPT_CHARS
    return f"{output[:_HEAD]}\n[... {cut} characters cut ...]\n{output[-tail:]}"


def _as_bytes(output: str | bytes) -> bytes:
    return output if isinstance(output, bytes) else output.encode()


class RecordsMixin(LedgerBase):
    async def add_step(self, run_id: str, name: str, command: str = "") -> int:
        """Start a step (numbered after the run's last); returns its id for finish_step."""
        async with self._sessions.begin() as session:
            await self._row(session, run_id)
            last = await session.scalar(select(func.max(StepRow.seq)).where(StepRow.run_id == run_id))
            row = StepRow(
                run_id=run_id,
                seq=(last or 0) + 1,
                name=name,
                command=command,
                started_at=utcnow(),
                output_excerpt="",
                output_bytes=0,
            )
            session.add(row)
            await session.flush()
            return row.id

    async def finish_step(
        self,
        step_id: int,
        exit_code: int | None,
        output: str | bytes = b"",
        duration: float | None = None,
        kill_reason: str | None = None,
        *,
        cpu_seconds: float | None = None,
    ) -> StepView:
        """Close a step: exit code, duration (measured from its start unless given), output digest.

        A sandbox step passes its `cpu_seconds`: its CPU and wall time are added to the run's cost in the
        same transaction, so the run's totals are always the sum of its sandbox steps.
        """
        raw = _as_bytes(output)
        async with self._sessions.begin() as session:
            row = await session.get(StepRow, step_id)
            if row is None:
                raise LookupError(f"no step {step_id}")
            ended = utcnow()
            row.exit_code = exit_code
            row.ended_at = ended
            row.duration = duration if duration is not None else _seconds_since(row.started_at, ended)
            row.cpu_seconds = cpu_seconds
            if cpu_seconds is not None:
                await session.execute(
                    update(RunRow)
                    .where(RunRow.id == row.run_id)
                    .values(
                        cpu_seconds=RunRow.cpu_seconds + cpu_seconds,
                        wall_seconds=RunRow.wall_seconds + row.duration,
                    )
                    .execution_options(synchronize_session=False)
                )
            row.output_digest = hashlib.sha256(raw).hexdigest()
            row.output_excerpt = excerpt(raw.decode(errors="replace"))
            row.output_bytes = len(raw)
            row.kill_reason = kill_reason
            await session.flush()
            return StepView.of(row)

    async def record_step(
        self,
        run_id: str,
        name: str,
        command: str,
        exit_code: int | None,
        output: str | bytes = b"",
        duration: float | None = None,
        kill_reason: str | None = None,
    ) -> StepView:
        """Start and finish a step in one call, for steps timed elsewhere."""
        step_id = await self.add_step(run_id, name, command)
        return await self.finish_step(step_id, exit_code, output, duration, kill_reason)

    async def record_agent_step(
        self,
        run_id: str,
        kind: str,
        name: str,
        *,
        command: str = "",
        exit_code: int | None = 0,
        output: str | bytes = b"",
        duration: float = 0.0,
        refused: bool = False,
        reason: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost: float = 0.0,
        detail: dict[str, Any] | None = None,
    ) -> StepView:
        """One model request (`kind="model"`) or tool call (`kind="tool"`) of the agent, and the run's totals
        moved in the same transaction (a tool call counts one, a model request its tokens and cost)."""
        raw = _as_bytes(output)
        async with self._sessions.begin() as session:
            await self._row(session, run_id)
            last = await session.scalar(select(func.max(StepRow.seq)).where(StepRow.run_id == run_id))
            ended = utcnow()
            row = StepRow(
                run_id=run_id, seq=(last or 0) + 1, name=name, command=command, exit_code=exit_code,
                started_at=ended, ended_at=ended, duration=duration,
                output_digest=hashlib.sha256(raw).hexdigest(),
                output_excerpt=excerpt(raw.decode(errors="replace")),
                output_bytes=len(raw), kill_reason=reason, kind=kind, refused=refused,
                input_tokens=input_tokens, output_tokens=output_tokens, cost=cost, detail=detail,
            )  # fmt: skip
            session.add(row)
            await session.execute(
                update(RunRow)
                .where(RunRow.id == run_id)
                .values(
                    tool_calls=RunRow.tool_calls + (1 if kind == "tool" else 0),
                    model_tokens=RunRow.model_tokens + input_tokens + output_tokens,
                    cost_usd=RunRow.cost_usd + cost,
                    updated_at=ended,
                )
                .execution_options(synchronize_session=False)
            )
            await session.flush()
            return StepView.of(row)

    async def record_approval(
        self,
        run_id: str,
        actor: str,
        decision: ApprovalDecision,
        *,
        role: str = "",
        reason: str = "",
        steps_kept: Iterable[str] = (),
        steps_dropped: Iterable[str] = (),
        plan_digest: str = "",
    ) -> None:
        """Store an answer to a plan, accepted or refused (refusals are kept too)."""
        answer = Approval(actor, decision, role, reason, tuple(steps_kept), tuple(steps_dropped), plan_digest)
        async with self._sessions.begin() as session:
            await self._row(session, run_id)
            session.add(answer.row(run_id))

    async def record_proposal(
        self,
        run_id: str,
        branch: str,
        commit_sha: str,
        *,
        diff_stat: str = "",
        files: Iterable[str] = (),
        pr_number: int | None = None,
        pr_url: str | None = None,
        diff: str = "",
    ) -> None:
        """Store what was pushed and proposed; the run's branch and pull request follow the latest."""
        if len(diff) > DIFF_MAX_CHARS:
            diff = diff[:DIFF_MAX_CHARS] + f"\n[... {len(diff) - DIFF_MAX_CHARS} characters cut ...]\n"
        async with self._sessions.begin() as session:
            run = await self._row(session, run_id)
            now = utcnow()
            session.add(
                ProposalRow(
                    run_id=run_id,
                    branch=branch,
                    commit_sha=commit_sha,
                    diff_stat=diff_stat,
                    files=list(files),
                    pr_number=pr_number,
                    pr_url=pr_url,
                    diff=diff,
                    at=now,
                )
            )
            run.branch = branch
            if pr_number is not None:
                run.pr_number = pr_number
            if pr_url is not None:
                run.pr_url = pr_url
            run.updated_at = now


def _seconds_since(started: datetime, ended: datetime) -> float:
    return max(0.0, (ended - aware(started)).total_seconds())
