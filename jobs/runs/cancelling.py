"""`steward runs cancel`: what `/steward cancel` does to one run, from a terminal; says what it cannot do."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import anyio

from jobs.ledger import IN_FLIGHT, Ledger, LedgerError, RunState, RunView
from jobs.runs.localitem import LOCAL_PREFIX

log = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 3


class CancelRefused(Exception):
    """The run cannot be cancelled; the message says why and what to do instead."""


@dataclass
class Cancelled:
    run: RunView
    notes: list[str] = field(default_factory=list)
    """What was done besides the ledger, and what could not be done from here."""


def refusal(run: RunView) -> str | None:
    """Why this run cannot be cancelled, or None when it can."""
    if run.state in IN_FLIGHT:
        return None
    if run.state == RunState.PROPOSED:
        where = "delete its local branch" if run.repo.startswith(LOCAL_PREFIX) else "close its pull request"
        return f"run {run.id} is proposed: its work is done and waits for review; {where} instead"
    return f"run {run.id} is already {run.state}, a final state; nothing to cancel"


async def _abort_queued(redis_url: str, run: RunView) -> str:
    """Abort the run's arq jobs, as `/steward cancel` does; a note on what happened."""
    from arq.connections import RedisSettings, create_pool
    from redis.exceptions import RedisError

    from jobs.runs.queue import abort_jobs

    try:
        with anyio.fail_after(REDIS_TIMEOUT_SECONDS * 2):
            where = replace(
                RedisSettings.from_dsn(redis_url), conn_retries=0, conn_timeout=REDIS_TIMEOUT_SECONDS
            )
            redis = await create_pool(where)
    except (OSError, TimeoutError, RedisError) as exc:
        return (
            f"could not reach Redis ({type(exc).__name__}), so its queued job was not aborted; "
            "the worker drops it when it finds the run cancelled"
        )
    try:
        bases = ["first"] + ([run.plan.base_sha] if run.plan and run.plan.base_sha else [])
        await abort_jobs(redis, run.id, bases)
    finally:
        await redis.aclose()
    return "its queued or running jobs were aborted"


async def cancel_run(
    ledger: Ledger, run_id: str, *, actor: str, reason: str, redis_url: str | None
) -> Cancelled:
    """Cancel one run that is not over; CancelRefused for a final or proposed one."""
    from jobs.commands.cancel import kill_sandboxes

    run = await ledger.require_run(run_id)
    why = refusal(run)
    if why is not None:
        raise CancelRefused(why)
    try:
        run = await ledger.transition(run.id, RunState.CANCELLED, actor=actor, reason=reason)
    except LedgerError as exc:
        raise CancelRefused(f"{exc}; nothing was cancelled") from None
    done = Cancelled(run)
    if not run.repo.startswith(LOCAL_PREFIX) and redis_url:
        done.notes.append(await _abort_queued(redis_url, run))
    killed = await anyio.to_thread.run_sync(kill_sandboxes, run.id)
    if killed:
        done.notes.append(f"{killed} sandbox container(s) removed")
    if not run.repo.startswith(LOCAL_PREFIX):
        done.notes.append(
            "its plan comment on GitHub still shows the old state (this command holds no GitHub token); "
            "`/steward cancel` on the issue updates it"
        )
    return done
