"""`/steward docs [instructions]`: start a docs run here (one at a time), within the noise limits."""

from __future__ import annotations

from app.commands.registry import CommandContext, handler
from jobs.commands.common import NOT_CONNECTED, bot_of, ready
from jobs.commands.noise import limit_hit, say_limit
from jobs.runs.queue import enqueue_plan

WORKFLOW = "docs"


@handler("docs")
async def docs(ctx: CommandContext) -> str | None:
    """Create the run and queue its planning; the plan comment is the answer."""
    both = ready(ctx)
    if both is None:
        return NOT_CONNECTED
    ledger, redis = both
    key = f"{WORKFLOW}:{ctx.repo.full_name}:{ctx.comment_id}"
    active = await ledger.active_run(ctx.repo.full_name, ctx.number, WORKFLOW)
    if active is not None and active.idempotency_key == key:
        await enqueue_plan(redis, active.id)  # the same comment again: converge, never a second run
        return None
    if active is not None:
        return (
            f"@{ctx.actor}, run `{active.id}` is already {active.state.value.replace('_', ' ')} here; "
            f"one docs run at a time. `{ctx.config.prefix} cancel` stops it."
        )
    limit = await limit_hit(ctx, ledger)
    if limit is not None:
        await say_limit(ctx, limit, bot_of(ctx))
        return None
    run = await ledger.create_run(
        ctx.repo.full_name,
        ctx.number,
        WORKFLOW,
        actor=ctx.actor,
        event=f"{ctx.config.prefix} docs",
        delivery_id=ctx.delivery_id or None,
        idempotency_key=key,
        instructions=ctx.args.strip(),
        installation_id=ctx.installation_id,
    )
    await enqueue_plan(redis, run.id)
    return None
