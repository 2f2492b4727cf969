"""Before the work starts: does the approval still hold for the plan as it stands now? (binding.py)"""

from __future__ import annotations

from typing import Any

from app.config.model import WorkflowConfig
from app.github.protocol import GitHubClient, RepoId
from app.github.untrusted import code_span
from jobs.agent.planning import model_label
from jobs.context import settings_of
from jobs.ledger import ApprovalDecision, Ledger, LedgerError, RunState, RunView
from jobs.plan import Plan
from jobs.runs.binding import as_it_stands, differences, digest
from jobs.runs.finish import end_run
from jobs.runs.forge import Forge
from jobs.runs.plancomment import ticked_now
from jobs.runs.queue import MAX_WORK_ROUNDS, enqueue_plan
from policies.model import Policy

LAPSED = "the plan changed after approval"


async def approval_lapsed(
    ctx: dict[str, Any],
    ledger: Ledger,
    gh: GitHubClient,
    forge: Forge,
    run: RunView,
    plan: Plan,
    policy: Policy,
    section: WorkflowConfig,
) -> str | None:
    """None when the approval still holds. Otherwise the run goes back to planning, the issue is told what
    changed, and the returned text says why."""
    if not plan.approval_required:
        return None
    accepted = await ledger.accepted_approvals(run.id)
    if not accepted or not accepted[-1].plan_digest:
        return None  # approved before approvals carried a digest
    approval = accepted[-1]
    settings = settings_of(ctx)
    repo = RepoId.parse(run.repo)
    ticked = await ticked_now(gh, repo, run.number, run.id, settings.bot_login)
    model = model_label(settings.model_provider, settings.model_name)
    now = as_it_stands(plan, policy, section, model, ticked)
    if digest(now) == approval.plan_digest:
        return None
    changed = differences(plan, now) or ["the recorded plan is not the one approved"]
    if len(accepted) >= MAX_WORK_ROUNDS:
        text = f"Run `{run.id}` stopped: its plan changed after each of {len(accepted)} approvals."
        await end_run(ledger, forge, run, RunState.FAILED, f"{LAPSED}, {len(accepted)} times", text)
        return f"failed: {LAPSED} {len(accepted)} times"
    await ledger.record_approval(
        run.id, "steward", ApprovalDecision.REFUSED, reason=f"{LAPSED}: {'; '.join(changed)}"[:4000]
    )
    try:
        await ledger.transition(
            run.id, RunState.PLANNING, actor="steward", reason=LAPSED, expected=RunState.RUNNING
        )
    except LedgerError:
        return f"run {run.id} moved on meanwhile"
    _, head = await gh.default_branch_sha(repo)
    redis = ctx.get("redis")
    if redis is not None:
        await enqueue_plan(redis, run.id, f"{head}-{digest(now)[:12]}")
    lines = "\n".join(f"- {code_span(line, 300)}" for line in changed)
    await forge.tell(
        run,
        f"@{approval.actor}'s approval of run `{run.id}` no longer counts: {LAPSED}, before the work "
        f"started.\n\n{lines}\n\nI am remaking the plan; approve the new one when it appears.",
    )
    return f"{LAPSED}: {len(changed)} difference(s); planning again"
