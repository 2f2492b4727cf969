"""Start a run of any workflow from a command: one at a time here, idempotent per comment, within limits."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from app.commands.context import CommandContext
from jobs.commands.common import NOT_CONNECTED, bot_of, ready
from jobs.commands.noise import limit_hit, say_limit
from jobs.runs.queue import enqueue_plan
from jobs.shadow.mode import SHADOW, mode_of

log = logging.getLogger(__name__)


async def start_run(
    ctx: CommandContext,
    workflow: str,
    *,
    instructions: str = "",
    paths: Sequence[str] = (),
    key: str | None = None,
    event: str | None = None,
) -> str | None:
    """Create the run and queue its planning; the plan comment is the answer (None: no reply).

    `key` makes the start idempotent (default: the comment's id); `event` is what the ledger says started it
    (default: the command)."""
    both = ready(ctx)
    if both is None:
        return NOT_CONNECTED
    ledger, redis = both
    mode = mode_of(ctx.config, workflow)
    key = key or f"{workflow}:{ctx.repo.full_name}:{ctx.comment_id}"
    active = await ledger.active_run(ctx.repo.full_name, ctx.number, workflow)
    if active is not None and active.idempotency_key == key:
        await enqueue_plan(redis, active.id)  # the same comment again: converge, never a second run
        return None
    if active is not None:
        if mode == SHADOW:  # a shadow workflow says nothing on GitHub, not even "one at a time"
            log.info(
                "shadow %s on %s#%s: run %s is active", workflow, ctx.repo.full_name, ctx.number, active.id
            )
            return None
        return (
            f"@{ctx.actor}, run `{active.id}` is already {active.state.value.replace('_', ' ')} here; "
            f"one {workflow} run at a time. `{ctx.config.prefix} cancel` stops it."
        )
    limit = await limit_hit(ctx, ledger)
    if limit is not None:
        if mode == SHADOW:
            log.info("shadow %s on %s#%s: %s", workflow, ctx.repo.full_name, ctx.number, limit)
        else:
            await say_limit(ctx, limit, bot_of(ctx))
        return None
    run = await ledger.create_run(
        ctx.repo.full_name,
        ctx.number,
        workflow,
        actor=ctx.actor,
        actor_role=ctx.role,
        event=event or f"{ctx.config.prefix} {workflow}",
        delivery_id=ctx.delivery_id or None,
        idempotency_key=key,
        instructions=instructions,
        paths=list(paths),
        installation_id=ctx.installation_id,
        mode=mode,
    )
    await enqueue_plan(redis, run.id)
    return None
