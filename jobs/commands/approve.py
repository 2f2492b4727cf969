"""`/steward approve`: run the waiting plan as its boxes stand, unless the default branch moved."""

from __future__ import annotations

from typing import Any

from app.commands.context import CommandContext
from app.github.protocol import permission_rank
from jobs.commands.common import NOT_CONNECTED, bot_of, ready
from jobs.ledger import ApprovalDecision, Ledger, LedgerError, RunState, RunView
from jobs.ledger.records import Approval
from jobs.plan import Plan
from jobs.runs.binding import digest
from jobs.runs.plancomment import show_plan, ticked_now
from jobs.runs.queue import enqueue_plan, enqueue_work

SELF_REFUSED = "the requester's own approval (approval.allow_self is off)"


def _is_requester(actor: str, run: RunView) -> bool:
    """GitHub logins ignore case; the requester is whoever asked for the run (or its retry)."""
    return bool(run.actor) and actor.lower() == run.actor.lower()


async def _waiting(ledger: Ledger, ctx: CommandContext) -> RunView | None:
    runs = await ledger.runs_in(ctx.repo.full_name, ctx.number, [RunState.AWAITING_APPROVAL])
    return runs[0] if runs else None


async def record_refusal(ctx: CommandContext) -> None:
    """An approval from below the command's level is refused, and the refusal is recorded."""
    ledger = ready(ctx)
    run = await _waiting(ledger[0], ctx) if ledger is not None else None
    if ledger is not None and run is not None:
        await ledger[0].record_approval(
            run.id, ctx.actor, ApprovalDecision.REFUSED, role=ctx.role, reason="below the approval level"
        )


async def approve(ctx: CommandContext) -> str:
    both = ready(ctx)
    if both is None:
        return NOT_CONNECTED
    ledger, redis = both
    run = await _waiting(ledger, ctx)
    if run is None or run.plan is None:
        busy = await ledger.runs_in(
            ctx.repo.full_name, ctx.number, [RunState.QUEUED, RunState.PLANNING, RunState.RUNNING]
        )
        if (
            busy
            and busy[0].state == RunState.RUNNING
            and (resumed := await _resume(ctx, ledger, redis, busy[0].id))
        ):
            return resumed
        if busy:
            return f"Run `{busy[0].id}` is {busy[0].state.value}; there is no plan waiting for approval."
        return f"No plan waits for approval here. `{ctx.config.prefix} docs` makes one."
    plan, bot = run.plan, bot_of(ctx)
    if permission_rank(ctx.role) < permission_rank(plan.approval_level):
        reason = f"needs {plan.approval_level}; {ctx.actor} has {ctx.role}"
        await ledger.record_approval(
            run.id, ctx.actor, ApprovalDecision.REFUSED, role=ctx.role, reason=reason
        )
        return (
            f"@{ctx.actor}, this plan needs `{plan.approval_level}` access to approve; you have {ctx.role}."
        )
    if _is_requester(ctx.actor, run) and not plan.approval_allow_self:
        await ledger.record_approval(
            run.id, ctx.actor, ApprovalDecision.REFUSED, role=ctx.role, reason=SELF_REFUSED
        )
        return (
            f"@{ctx.actor}, you asked for this run, so someone else with `{plan.approval_level}` access "
            f"approves it here (`approval.allow_self` in `.github/steward.yml` lets the requester approve)."
        )
    _, head = await ctx.gh.default_branch_sha(ctx.repo)
    if head != plan.base_sha:
        reason = f"the default branch moved from {plan.base_sha[:12]} to {head[:12]}"
        await ledger.record_approval(
            run.id, ctx.actor, ApprovalDecision.REFUSED, role=ctx.role, reason=reason
        )
        try:
            await ledger.transition(run.id, RunState.PLANNING, actor=ctx.actor, reason=reason)
        except LedgerError:
            return f"Run `{run.id}` moved on meanwhile; nothing was approved."
        await enqueue_plan(redis, run.id, head)
        return (
            f"@{ctx.actor}, not approved: {reason} since the plan was made. I am remaking the plan; "
            f"approve the new one when it appears."
        )
    ticked = await ticked_now(ctx.gh, ctx.repo, ctx.number, run.id, bot)
    if ticked is None:
        return f"The plan comment of run `{run.id}` is gone (no boxes to read); nothing was approved."
    return await _accept(ctx, ledger, redis, run, plan, plan.with_ticked(ticked))


async def _accept(
    ctx: CommandContext, ledger: Ledger, redis: Any, run: RunView, read: Plan, approved: Plan
) -> str:
    """Store the approval of `approved` (the plan `read`, as its boxes stand) with the move to running."""
    kept, dropped = approved.kept(), approved.dropped()
    answer = Approval(
        ctx.actor, ApprovalDecision.ACCEPTED, ctx.role, steps_kept=tuple(s.id for s in kept),
        steps_dropped=tuple(s.id for s in dropped), plan_digest=digest(approved),
    )  # fmt: skip
    try:  # the approval and its ticks are stored with the move to running, in one transaction
        await ledger.transition(
            run.id, RunState.RUNNING, actor=ctx.actor, reason="approved",
            expected=RunState.AWAITING_APPROVAL, approval=answer, plan=approved, replacing=read,
        )  # fmt: skip
    except LedgerError:
        if resumed := await _resume(ctx, ledger, redis, run.id):
            return resumed
        now = await ledger.get_run(run.id)
        if now is not None and now.state == RunState.AWAITING_APPROVAL:  # remade while the boxes were read
            return (
                f"The plan of run `{run.id}` was remade while @{ctx.actor} approved it; nothing was "
                f"approved. Read the new plan and approve that one."
            )
        return f"Run `{run.id}` was already approved; nothing changed."
    return await _start(ctx, ledger, redis, run.id, approved)


async def _start(ctx: CommandContext, ledger: Ledger, redis: Any, run_id: str, approved: Plan) -> str:
    """What follows an approval once stored: the plan comment shows it, and the work is queued. Both are
    safe to repeat, so a retry after a worker died between them (or before them) converges (_resume)."""
    await show_plan(ctx.gh, ctx.repo, ctx.number, run_id, approved, RunState.RUNNING.value, bot=bot_of(ctx))
    await enqueue_work(redis, run_id, len(await ledger.accepted_approvals(run_id)))
    return _approved(ctx, run_id, approved)


def _approved(ctx: CommandContext, run_id: str, approved: Plan) -> str:
    dropped = approved.dropped()
    note = f" ({len(dropped)} unticked step(s) dropped)" if dropped else ""
    return f"Approved by @{ctx.actor}: run `{run_id}` is running {len(approved.kept())} step(s){note}."


async def _resume(ctx: CommandContext, ledger: Ledger, redis: Any, run_id: str) -> str | None:
    """This commenter's approval is stored and the command runs again (its worker died before the work was
    queued, or the approval raced itself): finish what followed it. None: not this case (the last approval
    is someone else's, or its work is already queued, running or done)."""
    run, accepted = await ledger.require_run(run_id), await ledger.accepted_approvals(run_id)
    if run.state != RunState.RUNNING or run.plan is None or not accepted:
        return None
    if accepted[-1].actor.lower() != ctx.actor.lower():
        return None
    if not await enqueue_work(redis, run_id, len(accepted)):
        return None  # already queued, running or just done (by the first try, or another command)
    await show_plan(ctx.gh, ctx.repo, ctx.number, run_id, run.plan, RunState.RUNNING.value, bot=bot_of(ctx))
    return _approved(ctx, run_id, run.plan)
