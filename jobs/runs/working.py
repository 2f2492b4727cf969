"""The work job: under the repository lock, clone at the planned commit, work in the sandbox, propose."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from app.config.loader import load_repo_config
from app.github.protocol import IssueComment, RepoId
from app.github.untrusted import message
from app.settings import Settings
from jobs.agent.spec import EngineModel
from jobs.context import settings_of
from jobs.failures import TRANSIENT
from jobs.ledger import Ledger, RunState, RunView
from jobs.locks import repo_lock
from jobs.plan import Plan
from jobs.runs import registry
from jobs.runs.finish import WorkSetup, bot_identity, commit_date, end_run, finish, record_told
from jobs.runs.github_forge import GitHubForge
from jobs.runs.guard import run_job
from jobs.runs.item import work_item
from jobs.runs.rebind import approval_lapsed
from jobs.runs.revision.basing import base_move, conflict_reason, conflict_text, merge_wanted
from jobs.runs.revision.generated import generated_files
from jobs.runs.revision.planning import RevisionRefused
from jobs.runs.revision.result import kept_notes
from jobs.runs.revision.working import revision_head
from jobs.runs.scoped import scoped_client
from jobs.runs.setup import Phase
from jobs.runs.work import WorkOrder, recorded_clone, workspace_root
from jobs.shadow.forge import forge_for
from jobs.shadow.mode import SHADOW, read_only, shadow_if_needed
from policies.loader import effective_policy
from sandbox import images
from sandbox.basemerge import BaseConflict, MergeIn
from sandbox.git import GitError, branch_name, release

log = logging.getLogger(__name__)


def _operator_model(settings: Settings) -> EngineModel | None:
    from jobs.agent.operator import operator_model  # the model's SDKs load only for an agent run

    return operator_model(settings)


async def work_run(ctx: dict[str, Any], run_id: str) -> str:
    """arq job: carry out an approved run; a resumed job converges (same commit, same PR, one comment)."""
    return await run_job(ctx, run_id, "the work", lambda ledger, run: _work(ctx, ledger, run))


async def _work(ctx: dict[str, Any], ledger: Ledger, run: RunView) -> str:
    if run.state == RunState.PROPOSED and run.plan is not None and run.pr_number is not None:
        return await _converge_proposed(ctx, ledger, run, run.plan, run.pr_number)
    if run.state != RunState.RUNNING or run.plan is None:
        return f"nothing to do: run {run.id} is {run.state}"
    if ctx.get("redis") is None:
        return await _locked(ctx, ledger, run, run.plan)
    async with repo_lock(ctx["redis"], run.repo, f"run:{run.id}"):
        return await _locked(ctx, ledger, run, run.plan)


async def _locked(ctx: dict[str, Any], ledger: Ledger, run: RunView, plan: Plan) -> str:
    settings = settings_of(ctx)
    repo = RepoId.parse(run.repo)
    assert run.installation_id is not None
    workflow = registry.get(run.workflow)
    shipped = workflow.policy()
    wanted: dict[str, str] = dict(shipped.permissions)
    gh, token = await scoped_client(
        ctx, run.installation_id, repo, read_only(wanted) if run.mode == SHADOW else wanted
    )
    run, gh = await shadow_if_needed(ctx, ledger, gh, run)
    config = (await load_repo_config(gh, repo, ctx.get("redis"))).config
    run, gh = await shadow_if_needed(ctx, ledger, gh, run, config)  # gone shadow since approval: records
    policy = effective_policy(shipped, workflow.section(config))
    info = await gh.repository_info(repo)
    forge = forge_for(gh, repo, settings.bot_login, info.default_branch)  # a shadow client: a ShadowForge
    lapsed = await approval_lapsed(ctx, ledger, gh, forge, run, plan, policy, workflow.section(config))
    if lapsed is not None:
        return lapsed
    at, branch, ref, number = (
        plan.base_sha,
        branch_name(workflow.name, run.number),
        info.default_branch,
        run.number,
    )
    merge: MergeIn | None = None
    if plan.revision is not None:  # on the pull request's branch, at its head now, for the original item
        try:
            head = await revision_head(gh, ledger, run, plan, settings.bot_login)
        except RevisionRefused as exc:
            await end_run(ledger, forge, run, RunState.FAILED, str(exc), f"Run `{run.id}` stopped: {exc}.")
            return f"failed: {exc}"
        plan, at, branch, ref, number = head.plan, head.head_sha, head.branch, head.branch, head.item_number
        if plan.base_sha:  # the default branch as planned, merged in (the approved plan was made on it)
            identity = bot_identity(settings.bot_login)
            merge = merge_wanted(
                run.id, plan.base_sha, info.default_branch, branch, identity, commit_date(run)
            )
    issue = await gh.get_issue(repo, number)
    item = replace(await work_item(gh, repo, issue, run), review=kept_notes(plan))
    try:
        image = images.choose(config.setup.image, settings.sandbox_image, settings.allowed_images)
    except images.ImageRefusedError as exc:
        text = f"Run `{run.id}` failed before any sandbox started: {exc}"
        await end_run(ledger, forge, run, RunState.FAILED, "the sandbox image is not allowed", text)
        return f"failed: {exc}"
    root = workspace_root(settings.data_dir, run.id)
    await release(root)
    try:
        try:
            ws = await recorded_clone(
                ledger, run.id, info.clone_url, at, root=root, branch=branch, token=token, ref=ref,
                disk=plan.limits.disk, merge=merge,
            )  # fmt: skip
        except BaseConflict as exc:
            text = conflict_text(run.id, exc, branch, config.prefix)
            await end_run(ledger, forge, run, RunState.FAILED, conflict_reason(exc), text)
            return f"failed: {conflict_reason(exc)}"
        except TRANSIENT:
            raise
        except Exception as exc:  # GitError, or the data directory refusing the clone (OSError)
            why = str(exc) if isinstance(exc, GitError) else f"{type(exc).__name__}: {exc}"
            await end_run(
                ledger, forge, run, RunState.FAILED, f"the clone failed: {why}"[:500],
                f"Run `{run.id}` failed: {message(why)}",
            )  # fmt: skip
            return f"failed: {why}"
        if plan.revision is not None:
            moved = base_move(ws.merged, info.default_branch, made=True)
            made = await generated_files(ws, plan.base_sha, settings.bot_login, plan.revision.pushed)
            revised = plan.revision.model_copy(update={"base": moved, "generated": made})
            plan = plan.model_copy(update={"revision": revised})
        setup = WorkSetup(
            image=image,
            identity=bot_identity(settings.bot_login),
            message=workflow.commit_message(item),
            token=None if run.mode == SHADOW else token,
            push=run.mode != SHADOW,  # a shadow run's commit stays in its workspace
            phase=Phase(
                settings.data_dir,
                run.repo,
                settings.egress_without_firewall,
                settings.cache_max_bytes,
                settings.sandbox_transfer,
            ),
            model=_operator_model(settings) if plan.agent is not None else None,
        )
        comments: tuple[IssueComment, ...] = ()
        if plan.agent is not None:  # what people said, as data for get_issue; Steward's own are left out
            said = await gh.list_comments(repo, run.number)
            comments = tuple(c for c in said if c.author != settings.bot_login)
        order = WorkOrder(workflow, item, config, policy, comments)
        proposed = await finish(ledger, forge, run, plan, ws, order, setup)
    finally:
        await release(root)
    now = await ledger.require_run(run.id)
    return f"run {run.id} {now.state.value}" + (f" in {proposed.where}" if proposed else "")


async def _converge_proposed(
    ctx: dict[str, Any], ledger: Ledger, run: RunView, plan: Plan, number: int
) -> str:
    """A try that died after proposing: only the plan comment (and its result step) may still lag behind."""
    assert run.installation_id is not None
    repo = RepoId.parse(run.repo)
    gh, _ = await scoped_client(ctx, run.installation_id, repo, {"issues": "write"})
    reason = f"proposed in #{number}"
    await GitHubForge(gh, repo, settings_of(ctx).bot_login).show_plan(run, plan, reason)
    if not any(step.name == "result" for step in (await ledger.trace(run.id)).steps):
        await record_told(ledger, run.id, reason)
    return f"run {run.id} already proposed #{number}"
