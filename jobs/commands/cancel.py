"""`/steward cancel`: stop the queued and running runs here, their jobs and their sandboxes."""

from __future__ import annotations

import contextlib
import logging

import anyio
import docker
from docker.errors import DockerException, NotFound

from app.commands.context import CommandContext
from jobs.commands.common import NOT_CONNECTED, bot_of, ready
from jobs.ledger import IN_FLIGHT, LedgerError, RunState
from jobs.runs.plancomment import show_plan
from jobs.runs.queue import abort_jobs
from jobs.shadow.mode import SHADOW
from sandbox.labels import RUN_LABEL

log = logging.getLogger(__name__)


def kill_sandboxes(run_id: str) -> int:
    """Remove every container of the run (the aborted job removes its own; this covers any straggler)."""
    try:
        client = docker.from_env(timeout=30)
    except DockerException as exc:
        log.warning("cannot reach Docker to kill run %s's sandbox: %s", run_id, exc)
        return 0
    try:
        found = client.containers.list(
            all=True, ignore_removed=True, filters={"label": f"{RUN_LABEL}={run_id}"}
        )
        removed = 0
        for container in found:
            # The aborted job may remove its own container between the listing and this call.
            with contextlib.suppress(NotFound):
                container.remove(force=True, v=True)
                removed += 1
        return removed
    except DockerException as exc:
        log.warning("could not remove run %s's sandbox: %s", run_id, exc)
        return 0
    finally:
        client.close()


async def cancel(ctx: CommandContext) -> str:
    both = ready(ctx)
    if both is None:
        return NOT_CONNECTED
    ledger, redis = both
    runs = await ledger.runs_in(ctx.repo.full_name, ctx.number, IN_FLIGHT)
    if not runs:
        return "Nothing to cancel here: no queued or running run."
    done = []
    for run in runs:
        try:
            run = await ledger.transition(
                run.id, RunState.CANCELLED, actor=ctx.actor, reason=f"{ctx.config.prefix} cancel"
            )
        except LedgerError:
            continue
        bases = ["first"] + ([run.plan.base_sha] if run.plan and run.plan.base_sha else [])
        await abort_jobs(redis, run.id, bases)
        await anyio.to_thread.run_sync(kill_sandboxes, run.id)
        if run.plan is not None and run.mode != SHADOW:  # a shadow run's plan was never posted
            await show_plan(
                ctx.gh, ctx.repo, ctx.number, run.id, run.plan, run.state.value, bot=bot_of(ctx),
                status=f"cancelled by @{ctx.actor}",
            )  # fmt: skip
        done.append(f"`{run.id}`")
    if not done:
        return "Those runs finished meanwhile; nothing was cancelled."
    return f"Cancelled {', '.join(done)}. `{ctx.config.prefix} retry` starts it again."
