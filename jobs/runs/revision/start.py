"""Start a revision of a Steward pull request: from `/steward revise`, or from a "Request changes" review.

Both ask the same questions: is this a pull request Steward opened and still open, does the person hold the
workflow's approval level, is a revision already under way, is a noise limit hit. Then one queued run,
linked to the run it revises, under an idempotency key (a redelivered comment or review starts nothing new).
"""

from __future__ import annotations

import logging
from typing import Any

from app.commands.context import CommandContext
from app.github.protocol import permission_rank
from jobs.commands.common import NOT_CONNECTED, bot_of, ready
from jobs.commands.noise import limit_hit, say_limit
from jobs.ledger import IN_FLIGHT, Ledger, RunView
from jobs.runs import registry
from jobs.runs.queue import enqueue_plan
from jobs.shadow.mode import SHADOW, mode_of
from policies.loader import effective_policy

log = logging.getLogger(__name__)

RUNS_SCANNED = 200


async def proposing_run(ledger: Ledger, repo: str, pull: int) -> RunView | None:
    """The newest run that proposed in this pull request (its first run, or its latest revision)."""
    for run in await ledger.list_runs(repo=repo, limit=RUNS_SCANNED):
        if run.pr_number == pull:
            return run
    return None


def approval_level(ctx: CommandContext, workflow: str) -> str:
    """The workflow's approval level here: the policy's, raised (never lowered) by the repository's."""
    flow = registry.get(workflow)
    return effective_policy(flow.policy(), flow.section(ctx.config)).approval.level


async def start_revision(ctx: CommandContext, *, key: str, event: str) -> str | None:
    """Queue a revision of the pull request `ctx.number`; the answer when nothing starts (None: the plan
    comment that follows is the answer)."""
    both = ready(ctx)
    if both is None:
        return NOT_CONNECTED
    ledger, redis = both
    prefix = ctx.config.prefix
    parent = await proposing_run(ledger, ctx.repo.full_name, ctx.number) if ctx.is_pull_request else None
    if parent is None:
        return (
            f"@{ctx.actor}, `{prefix} revise` works on a pull request Steward opened; "
            f"#{ctx.number} is not one. Nothing was started."
        )
    mode = mode_of(ctx.config, parent.workflow)
    answer = await _start(ctx, ledger, redis, parent, mode, key=key, event=event)
    if answer is not None and mode == SHADOW:  # a shadow workflow says nothing on GitHub, not even a refusal
        log.info("shadow revision on %s#%s: %s", ctx.repo.full_name, ctx.number, answer[:200])
        return None
    return answer


async def _start(
    ctx: CommandContext, ledger: Ledger, redis: Any, parent: RunView, mode: str, *, key: str, event: str
) -> str | None:
    prefix = ctx.config.prefix
    level = approval_level(ctx, parent.workflow)
    if permission_rank(ctx.role) < permission_rank(level):
        have = ctx.role if permission_rank(ctx.role) > 0 else "no role here"
        return (
            f"@{ctx.actor}, a revision of this pull request needs `{level}` access (the approval level of "
            f"the {parent.workflow} workflow here); you have {have}. Nothing was started."
        )
    existing = await ledger.active_run(ctx.repo.full_name, ctx.number, parent.workflow, IN_FLIGHT)
    if existing is not None and existing.idempotency_key == key:
        await enqueue_plan(redis, existing.id)  # the same request again: converge, never a second run
        return None
    if existing is not None:
        return (
            f"@{ctx.actor}, run `{existing.id}` is already {existing.state.value.replace('_', ' ')} here; "
            f"one revision at a time. `{prefix} cancel` stops it."
        )
    limit = await limit_hit(ctx, ledger, opens_pull=False)
    if limit is not None:
        if mode == SHADOW:
            log.info("shadow revision on %s#%s: %s", ctx.repo.full_name, ctx.number, limit)
        else:
            await say_limit(ctx, limit, bot_of(ctx))
        return None
    run = await ledger.create_run(
        ctx.repo.full_name,
        ctx.number,
        parent.workflow,
        actor=ctx.actor,
        actor_role=ctx.role,
        event=event,
        reason=f"revision of {parent.id} asked by {ctx.actor}",
        delivery_id=ctx.delivery_id or None,
        idempotency_key=key,
        instructions=ctx.args.strip(),
        paths=list(parent.paths),  # the paths the pull request was made for (`/steward tests PATHS`)
        installation_id=ctx.installation_id,
        revision_of=parent.id,
        branch=parent.branch,
        mode=mode,
    )
    await enqueue_plan(redis, run.id)
    return None
