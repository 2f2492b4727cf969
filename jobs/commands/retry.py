"""`/steward retry`: run the last failed or cancelled run here again, as a new linked run."""

from __future__ import annotations

from app.commands.context import CommandContext
from jobs.commands.common import NOT_CONNECTED, ready
from jobs.ledger import LedgerError
from jobs.runs.queue import enqueue_plan
from jobs.shadow.mode import SHADOW, in_shadow


async def retry(ctx: CommandContext) -> str:
    both = ready(ctx)
    if both is None:
        return NOT_CONNECTED
    ledger, redis = both
    old = await ledger.last_retryable(ctx.repo.full_name, ctx.number)
    if old is None:
        return "Nothing to retry here: no failed or cancelled run that was not retried already."
    active = await ledger.active_run(ctx.repo.full_name, ctx.number, old.workflow)
    if active is not None:
        return f"Run `{active.id}` is still {active.state.value} here; one {old.workflow} run at a time."
    try:
        new = await ledger.retry(old.id, actor=ctx.actor, actor_role=ctx.role)
    except LedgerError as exc:
        return f"Cannot retry `{old.id}`: {exc}"
    if in_shadow(ctx.config, old.workflow):  # marked before its first job, so even its failure tells nobody
        new = await ledger.update_run(new.id, mode=SHADOW)
    await enqueue_plan(redis, new.id)
    return f"Retrying run `{old.id}` as `{new.id}`; a new plan follows."
