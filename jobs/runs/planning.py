"""The planning job: read the default branch, make the plan, post it, then wait for approval or run."""

from __future__ import annotations

import logging
from typing import Any

import anyio

from app.config.loader import load_repo_config
from app.github.client import GitHubKitClient
from app.github.protocol import RepoId
from jobs import failpoints
from jobs.agent.planning import AgentNotConfigured, model_label
from jobs.context import settings_of
from jobs.ledger import Ledger, RunState, RunView, TransitionConflict
from jobs.runs import registry
from jobs.runs.engines import EngineChoice, with_engine
from jobs.runs.finish import bot_identity, end_run
from jobs.runs.github_forge import GitHubForge
from jobs.runs.guard import run_job
from jobs.runs.item import work_item
from jobs.runs.plancomment import show_plan
from jobs.runs.queue import enqueue_work
from jobs.runs.revision.basing import base_move, conflict_reason, conflict_text, merge_wanted
from jobs.runs.revision.generated import generated_files
from jobs.runs.revision.planning import REVISION_PERMISSIONS, RevisionRefused, revision_base, with_revision
from jobs.runs.scoped import PLAN_PERMISSIONS, scoped_client
from jobs.runs.setup import choose as choose_setup
from jobs.runs.work import config_digest, workspace_root
from jobs.runs.workflow import PlanInput
from jobs.shadow.mode import SHADOW, shadow_if_needed
from policies.loader import effective_policy
from sandbox.basemerge import BaseConflict
from sandbox.git import branch_name, clone, remove

log = logging.getLogger(__name__)


async def plan_run(ctx: dict[str, Any], run_id: str) -> str:
    """arq job: plan a queued (or re-planning) run; safe to run again at any point."""
    return await run_job(ctx, run_id, "the planning", lambda ledger, run: _plan(ctx, ledger, run))


async def _plan(ctx: dict[str, Any], ledger: Ledger, run: RunView) -> str:
    settings = settings_of(ctx)
    if run.state == RunState.QUEUED:
        try:
            run = await ledger.transition(
                run.id, RunState.PLANNING, actor="steward", expected=RunState.QUEUED
            )
        except TransitionConflict:
            run = await ledger.require_run(run.id)
    repo = RepoId.parse(run.repo)
    assert run.installation_id is not None
    wanted = REVISION_PERMISSIONS if run.revision_of else PLAN_PERMISSIONS
    gh, token = await scoped_client(ctx, run.installation_id, repo, wanted)
    run, gh = await shadow_if_needed(ctx, ledger, gh, run)  # a shadow run's plan is recorded, never posted
    if run.state != RunState.PLANNING:
        await converge(ctx, ledger, gh, run)
        return f"run {run.id} is {run.state}"
    result = await load_repo_config(gh, repo, ctx.get("redis"))
    run, gh = await shadow_if_needed(ctx, ledger, gh, run, result.config)
    if result.errors:
        await end_run(
            ledger, GitHubForge(gh, repo, settings.bot_login), run, RunState.FAILED,
            "the repository's configuration has errors",
            f"Run `{run.id}` did not start: `.github/steward.yml` has errors; fix them, then ask again.",
        )  # fmt: skip
        return "failed: configuration errors"
    workflow = registry.get(run.workflow)
    policy = effective_policy(workflow.policy(), workflow.section(result.config))
    info = await gh.repository_info(repo)
    _, sha = await gh.default_branch_sha(repo)
    at, ref, branch, revision = sha, info.default_branch, branch_name(workflow.name, run.number), None
    merge = None
    if run.revision_of:  # a revision plans on its branch head with the default branch merged in
        try:
            base = await revision_base(gh, ledger, run, settings.bot_login)
        except RevisionRefused as exc:
            forge = GitHubForge(gh, repo, settings.bot_login)
            await end_run(
                ledger, forge, run, RunState.FAILED, str(exc), f"Run `{run.id}` did not start: {exc}."
            )
            return f"failed: {exc}"
        issue, revision = base.issue, base.revision
        at, ref, branch = revision.head_sha, revision.branch, revision.branch
        merge = merge_wanted(run.id, sha, info.default_branch, branch, bot_identity(settings.bot_login))
    else:
        issue = await gh.get_issue(repo, run.number)
    item = await work_item(gh, repo, issue, run)
    root = workspace_root(settings.data_dir, f"{run.id}-plan")
    remove(root)
    try:
        try:
            ws = await clone(info.clone_url, at, root=root, branch=branch, token=token, ref=ref, merge=merge)
        except BaseConflict as exc:
            forge = GitHubForge(gh, repo, settings.bot_login)
            text = conflict_text(run.id, exc, branch, result.config.prefix)
            await end_run(ledger, forge, run, RunState.FAILED, conflict_reason(exc), text)
            return f"failed: {conflict_reason(exc)}"
        if revision is not None:
            made = await generated_files(ws, sha, settings.bot_login, revision.pushed)
            moved = base_move(ws.merged, info.default_branch, made=False)
            revision = revision.model_copy(update={"base": moved, "generated": made})
        given = PlanInput(item, result.config, policy, ws.work_tree, ws.git_dir, sha, revision)
        plan = await anyio.to_thread.run_sync(lambda: workflow.plan(given))
        install = choose_setup(ws.work_tree, result.config, workflow, policy, settings.egress_allowlist)
        plan = plan.model_copy(update={"setup": install})
        choice = EngineChoice(
            model=model_label(settings.model_provider, settings.model_name), servers=settings.mcp_servers
        )
        section = workflow.section(result.config)
        try:
            plan = with_engine(plan, section, policy, choice, ws.work_tree, ws.git_dir, issue)
        except AgentNotConfigured as exc:
            forge = GitHubForge(gh, repo, settings.bot_login)
            await end_run(ledger, forge, run, RunState.FAILED, exc.reason,
                          f"Run `{run.id}` did not start: {exc}.")  # fmt: skip
            return f"failed: {exc.reason}"
    finally:
        remove(root)
    if revision is not None:
        plan = with_revision(plan, revision)
    shadow = run.mode == SHADOW  # it changes nothing on GitHub, so there is nothing to approve
    plan = plan.model_copy(
        update={"requested_by": run.actor} | ({"approval_required": False} if shadow else {})
    )
    await ledger.set_plan(run.id, plan)
    await ledger.update_run(
        run.id,
        config_digest=config_digest(result.config),
        policy=policy.model_dump(mode="json"),
        limits=policy.limits.model_dump(mode="json"),
    )
    kept = ", ".join(step.id for step in plan.steps) or "nothing to do"
    await ledger.record_step(run.id, "plan", f"plan at {sha[:12]}", 0, kept.encode())
    nxt = RunState.AWAITING_APPROVAL if plan.approval_required else RunState.RUNNING
    reason = "the plan waits for approval" if plan.approval_required else "no approval required"
    reason = "shadow mode: nothing to approve, nothing will be posted or pushed" if shadow else reason
    try:
        run = await ledger.transition(run.id, nxt, actor="steward", reason=reason, expected=RunState.PLANNING)
    except TransitionConflict:
        run = await ledger.require_run(run.id)
    await converge(ctx, ledger, gh, run)
    return f"run {run.id} planned: {run.state}"


async def converge(ctx: dict[str, Any], ledger: Ledger, gh: GitHubKitClient, run: RunView) -> None:
    """Bring the plan comment (and a run that needs no approval) in line with the ledger."""
    if run.plan is None or run.state == RunState.PLANNING:
        return
    bot = settings_of(ctx).bot_login
    await failpoints.hit("plan")
    comment_id = await show_plan(
        gh, RepoId.parse(run.repo), run.number, run.id, run.plan, run.state.value, bot=bot
    )
    if run.plan_comment_id != comment_id:
        await ledger.update_run(run.id, plan_comment_id=comment_id)
    if run.state == RunState.RUNNING and ctx.get("redis") is not None:  # the work of the latest approval
        rounds = len(await ledger.accepted_approvals(run.id))
        await enqueue_work(ctx["redis"], run.id, max(1, rounds))
