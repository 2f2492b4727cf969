"""Run jobs under the shared failure policy, and fail the run itself when its job gives up."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from arq import Retry

from app.github.protocol import RepoId
from app.observability import tracing
from jobs.context import db_sessions, max_tries, retry_delay
from jobs.failures import TRANSIENT, ReportTo, guarded_text
from jobs.ledger import TERMINAL, Ledger, LedgerError, RunState, RunView

log = logging.getLogger(__name__)


async def run_job(
    ctx: dict[str, Any], run_id: str, what: str, body: Callable[[Ledger, RunView], Awaitable[str]]
) -> str:
    """Transient failures re-queue the job; a final one fails the run and is told to the issue."""
    ledger = Ledger(db_sessions(ctx))
    try:
        run = await ledger.get_run(run_id)
    except TRANSIENT as exc:  # the database away before the run is even read: try again later
        if int(ctx.get("job_try", 1)) >= max_tries(ctx):
            raise
        log.warning("run %s: could not read it (%s); re-queued", run_id, type(exc).__name__)
        raise Retry(defer=retry_delay(ctx)) from None
    if run is None:
        return f"no run {run_id}"
    if run.installation_id is None:
        return f"run {run_id} has no installation"
    where: ReportTo | None = ReportTo(
        run.installation_id, RepoId.parse(run.repo), run.number, f"{what} of run `{run_id}`"
    )
    if run.mode == "shadow":  # a shadow run tells nobody: its failure is in the ledger only
        where = None

    async def work() -> str:
        try:
            return await body(ledger, run)
        except TRANSIENT as exc:
            if int(ctx.get("job_try", 1)) < max_tries(ctx):
                raise
            reason = f"{what} gave up after {max_tries(ctx)} tries"
            await _fail(ledger, run_id, reason)
            if where is not None and await _became_shadow(ledger, run_id):
                return _untold(run_id, reason, exc)
            raise
        except Exception as exc:
            reason = f"{what} failed: {type(exc).__name__}"
            await _fail(ledger, run_id, reason)
            if where is not None and await _became_shadow(ledger, run_id):
                return _untold(run_id, reason, exc)
            raise

    attributes = {"steward.run.id": run.id, "steward.workflow": run.workflow, "steward.engine": run.engine,
                  "steward.run.phase": what}  # fmt: skip
    with tracing.span(f"run {run.workflow}", attributes):
        # timed=False: jobs.runs.deadline already stops a run job before arq's timeout and fails the run.
        return await guarded_text(ctx, where, work(), timed=False)


async def _became_shadow(ledger: Ledger, run_id: str) -> bool:
    """Whether the job moved the run to shadow (its workflow went shadow): then its failure is told nobody."""
    try:
        return (await ledger.require_run(run_id)).mode == "shadow"
    except LedgerError:
        return False


def _untold(run_id: str, reason: str, exc: BaseException) -> str:
    log.warning("shadow run %s: %s (%s); told nobody", run_id, reason, type(exc).__name__)
    return f"shadow run {run_id}: {reason}"


async def _fail(ledger: Ledger, run_id: str, reason: str) -> None:
    try:
        run = await ledger.require_run(run_id)
        if run.state not in TERMINAL:
            await ledger.transition(run_id, RunState.FAILED, actor="steward", reason=reason)
    except LedgerError as exc:
        log.warning("could not fail run %s: %s", run_id, exc)
