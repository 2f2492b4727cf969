"""The work job: under the repository lock, clone at the planned commit, work in the sandbox, propose."""

from __future__ import annotations

import logging
from typing import Any

from app.config.loader import load_repo_config
from app.constants import REVIEW_STATUS_CONTEXT
from app.github.client import GitHubKitClient
from app.github.protocol import IssueRecord, RepoId
from jobs.context import settings_of
from jobs.ledger import Ledger, RunState, RunView, TransitionConflict
from jobs.locks import repo_lock
from jobs.plan import Plan
from jobs.runs import proposal
from jobs.runs.guard import run_job
from jobs.runs.outcome import end_run
from jobs.runs.plancomment import show_plan
from jobs.runs.scoped import scoped_client
from jobs.runs.work import WorkResult, diff_stat, recorded_clone, work, workspace_root
from policies.loader import effective_policy, load_policy
from sandbox.base import SandboxError
from sandbox.git import DiffRefusedError, Identity, branch_name, remove

log = logging.getLogger(__name__)

PENDING_TEXT = "Waiting for an approving review by a person with write access"


def bot_identity(bot_login: str) -> Identity:
    return Identity(bot_login, f"{bot_login.replace('[bot]', '')}@users.noreply.github.com")


async def work_run(ctx: dict[str, Any], run_id: str) -> str:
    """arq job: carry out an approved run; a resumed job converges (same commit, same PR, one comment)."""
    return await run_job(ctx, run_id, "the work", lambda ledger, run: _work(ctx, ledger, run))


async def _work(ctx: dict[str, Any], ledger: Ledger, run: RunView) -> str:
    if run.state == RunState.PROPOSED and run.plan is not None and run.pr_number is not None:
        return await _converge_proposed(ctx, run, run.plan, run.pr_number)
    if run.state != RunState.RUNNING or run.plan is None:
        return f"nothing to do: run {run.id} is {run.state}"
    owner = f"run:{run.id}"
    if ctx.get("redis") is None:
        return await _locked(ctx, ledger, run, run.plan)
    async with repo_lock(ctx["redis"], run.repo, owner):
        return await _locked(ctx, ledger, run, run.plan)


async def _locked(ctx: dict[str, Any], ledger: Ledger, run: RunView, plan: Plan) -> str:
    settings = settings_of(ctx)
    repo = RepoId.parse(run.repo)
    assert run.installation_id is not None
    docs_policy = load_policy("docs")
    gh, token = await scoped_client(ctx, run.installation_id, repo, dict(docs_policy.permissions))
    config = (await load_repo_config(gh, repo, ctx.get("redis"))).config
    policy = effective_policy(docs_policy, config.workflows.docs)
    issue = await gh.get_issue(repo, run.number)
    info = await gh.repository_info(repo)
    branch = branch_name("docs", run.number)
    root = workspace_root(settings.data_dir, run.id)
    remove(root)
    try:
        ws = await recorded_clone(
            ledger, run.id, info.clone_url, plan.base_sha, root=root, branch=branch, token=token,
            ref=info.default_branch,
        )  # fmt: skip
        result = await work(
            ws, plan, issue, config.workflows.docs, policy, ledger=ledger, run_id=run.id,
            image=config.setup.image or settings.sandbox_image, identity=bot_identity(settings.bot_login),
            message=proposal.commit_message(issue), date=f"@{int(run.created_at.timestamp())} +0000",
            token=token,
        )  # fmt: skip
    except DiffRefusedError as exc:
        if await _stopped(ledger, run.id):
            return f"run {run.id} was stopped meanwhile"
        await end_run(
            ledger, gh, run, RunState.FAILED, "the diff left the docs paths", bot=settings.bot_login,
            message=f"Run `{run.id}` was stopped: {exc}\n\nTrace: `steward runs show {run.id}`.",
        )  # fmt: skip
        return f"refused: {exc}"
    except SandboxError as exc:  # image missing, Docker down, git refused: said as it is, then retry by hand
        if await _stopped(ledger, run.id):  # /steward cancel removed the container under the command
            return f"run {run.id} was stopped meanwhile"
        await end_run(
            ledger, gh, run, RunState.FAILED, "the sandbox or git failed", bot=settings.bot_login,
            message=f"Run `{run.id}` failed: {exc}\n\nOnce that is fixed, `/steward retry` runs it again.",
        )  # fmt: skip
        return f"failed: {exc}"
    finally:
        remove(root)
    now = await ledger.require_run(run.id)
    if now.state != RunState.RUNNING:  # cancelled while the sandbox ran: propose nothing
        return f"run {run.id} is {now.state}; nothing proposed"
    if result.commit is None:
        await end_run(
            ledger, gh, now, RunState.CLOSED, "nothing changed", bot=settings.bot_login,
            message=f"Run `{run.id}` changed nothing, so there is nothing to propose."
            + "".join(f"\n- {problem}" for problem in result.outcome.problems),
        )  # fmt: skip
        return "nothing changed"
    return await _propose(ctx, ledger, gh, now, plan, issue, result, info.default_branch)


async def _stopped(ledger: Ledger, run_id: str) -> bool:
    return (await ledger.require_run(run_id)).state != RunState.RUNNING


async def _propose(
    ctx: dict[str, Any],
    ledger: Ledger,
    gh: GitHubKitClient,
    run: RunView,
    plan: Plan,
    issue: IssueRecord,
    result: WorkResult,
    base: str,
) -> str:
    """Open the pull request (or find the one a crashed try opened), set its status, record it."""
    settings = settings_of(ctx)
    repo = RepoId.parse(run.repo)
    assert result.commit is not None
    branch = branch_name("docs", run.number)
    stat = diff_stat(result.changes)
    pull = await gh.find_open_pull(repo, branch)
    if pull is None:
        body = proposal.body(plan, issue, result.outcome, stat, run.id)
        pull = await gh.create_pull(repo, title=proposal.title(issue), body=body, head=branch, base=base)
    if await gh.status_of(repo, result.commit, REVIEW_STATUS_CONTEXT) is None:  # a resumed run keeps it
        await gh.set_status(
            repo, result.commit, "pending", context=REVIEW_STATUS_CONTEXT, description=PENDING_TEXT
        )
    await ledger.record_proposal(
        run.id, branch, result.commit, diff_stat=stat, files=[c.path for c in result.changes],
        pr_number=pull.number, pr_url=pull.html_url,
    )  # fmt: skip
    try:
        run = await ledger.transition(
            run.id, RunState.PROPOSED, actor="steward", reason=f"proposed in #{pull.number}",
            expected=RunState.RUNNING,
        )  # fmt: skip
    except TransitionConflict:
        run = await ledger.require_run(run.id)
    await show_plan(
        gh, repo, run.number, run.id, plan, run.state.value, bot=settings.bot_login,
        status=f"proposed in #{pull.number}",
    )  # fmt: skip
    return f"run {run.id} proposed #{pull.number}"


async def _converge_proposed(ctx: dict[str, Any], run: RunView, plan: Plan, number: int) -> str:
    """A try that died after proposing: only the plan comment may still lag behind."""
    assert run.installation_id is not None
    repo = RepoId.parse(run.repo)
    gh, _ = await scoped_client(ctx, run.installation_id, repo, {"issues": "write"})
    await show_plan(
        gh, repo, run.number, run.id, plan, run.state.value, bot=settings_of(ctx).bot_login,
        status=f"proposed in #{number}",
    )  # fmt: skip
    return f"run {run.id} already proposed #{number}"
