"""`steward run docs` against a local checkout: the same plan, sandbox, policy and ledger; nothing pushed.

The result is committed on a local branch `steward/docs/<number>` of the checkout itself (the host-side
clone pushes to it as its only remote), and the diff and the pull-request body are printed.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio

from app.config.loader import parse_config
from app.config.model import RepoConfig
from app.constants import CONFIG_PATH
from app.github.protocol import IssueRecord
from jobs.docs.engine import plan_docs
from jobs.ledger import ApprovalDecision, Ledger, RunState
from jobs.plan import Plan, render_plan
from jobs.runs import proposal
from jobs.runs.localitem import LocalRunError, issue_from_commit, read_issue
from jobs.runs.work import config_digest, diff_stat, image_digest, recorded_clone, work, workspace_root
from policies.loader import effective_policy, load_policy
from policies.model import Policy
from sandbox.base import SandboxError
from sandbox.git import DiffRefusedError, GitError, Identity, branch_name, remove

WORKFLOW = "docs"
LOCAL_IDENTITY = Identity("Steward", "steward@localhost")
_HIDDEN = re.compile(r"<!--.*?-->")

Confirm = Callable[[str], bool]
Echo = Callable[[str], None]


@dataclass
class LocalOptions:
    repo: Path
    issue_json: Path | None
    yes: bool
    db_url: str
    image: str
    data_dir: Path


async def _git(repo: Path, *args: str) -> str:
    result = await anyio.run_process(["git", "-C", str(repo), *args], check=False)
    if result.returncode != 0:
        raise LocalRunError(
            f"git {args[0]} in {repo} failed: {result.stderr.decode(errors='replace').strip()}"
        )
    return result.stdout.decode(errors="replace")


async def check_checkout(repo: Path) -> tuple[Path, str]:
    """The checkout's top directory and HEAD; refuses what is not a clean git work tree."""
    if not await anyio.Path(repo).is_dir():
        raise LocalRunError(f"{repo} is not a directory")
    probe = await anyio.run_process(["git", "-C", str(repo), "rev-parse", "--show-toplevel"], check=False)
    if probe.returncode != 0:
        raise LocalRunError(f"{repo} is not a git repository (run `git init` and commit first)")
    top = Path(probe.stdout.decode().strip())
    head = await anyio.run_process(
        ["git", "-C", str(top), "rev-parse", "--verify", "-q", "HEAD"], check=False
    )
    if head.returncode != 0:
        raise LocalRunError(f"{top} has no commit yet; commit your files first")
    dirty = (await _git(top, "status", "--porcelain", "--untracked-files=no")).strip()
    if dirty:
        raise LocalRunError(
            f"{top} has uncommitted changes; commit or stash them first (Steward works from HEAD):\n{dirty}"
        )
    return top, head.stdout.decode().strip()


def read_config(top: Path) -> RepoConfig:
    path = top / CONFIG_PATH
    if not path.is_file():
        return RepoConfig()
    result = parse_config(path.read_text(encoding="utf-8"))
    if result.errors:
        problems = "\n".join(f"  {issue.field}: {issue.message}" for issue in result.errors)
        raise LocalRunError(f"{CONFIG_PATH} has errors; writing work waits until it is fixed:\n{problems}")
    return result.config


def terminal_plan(plan: Plan, run_id: str, state: str) -> str:
    """The plan comment as a terminal shows it: the same text without the hidden markers."""
    text = _HIDDEN.sub("", render_plan(plan, run_id=run_id, state=state))
    text = re.sub(r"To run it: .*", "Locally, the plan is approved on the terminal (or with --yes).", text)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip()


async def _issue(options: LocalOptions, top: Path) -> IssueRecord:
    if options.issue_json is not None:
        return read_issue(options.issue_json)
    return issue_from_commit((await _git(top, "log", "-1", "--format=%s")).strip())


async def run_local(options: LocalOptions, echo: Echo, confirm: Confirm) -> str:
    """Plan, approve (on the terminal), work in the sandbox, commit on the local branch; the run id."""
    top, head = await check_checkout(options.repo)
    issue = await _issue(options, top)
    config = read_config(top)
    docs = config.workflows.docs
    if not docs.enabled:
        raise LocalRunError(f"the docs workflow is disabled in {CONFIG_PATH}")
    policy = effective_policy(load_policy(WORKFLOW), docs)
    branch = branch_name(WORKFLOW, issue.number)
    exists = await anyio.run_process(
        ["git", "-C", str(top), "rev-parse", "--verify", "-q", f"refs/heads/{branch}"], check=False
    )
    if exists.returncode == 0:
        raise LocalRunError(
            f"branch {branch} already exists; delete it (`git branch -D {branch}`) to run again"
        )
    await image_digest(config.setup.image or options.image)  # Docker up, image built: before any record
    ledger = await Ledger.connect(options.db_url)
    try:
        return await _lifecycle(ledger, options, top, head, issue, config, policy, branch, echo, confirm)
    finally:
        await ledger.close()


async def _lifecycle(
    ledger: Ledger,
    options: LocalOptions,
    top: Path,
    head: str,
    issue: IssueRecord,
    config: RepoConfig,
    policy: Policy,
    branch: str,
    echo: Echo,
    confirm: Confirm,
) -> str:
    actor = getpass.getuser()
    run = await ledger.create_run(
        f"local:{top}",
        issue.number,
        WORKFLOW,
        actor=actor,
        event="steward run docs",
        policy=policy.model_dump(mode="json"),
    )
    await ledger.transition(run.id, RunState.PLANNING, actor=actor, reason="planning against HEAD")
    plan = await anyio.to_thread.run_sync(
        lambda: plan_docs(top, issue, config.workflows.docs, policy, base_sha=head)
    )
    await ledger.set_plan(run.id, plan)
    await ledger.update_run(
        run.id, config_digest=config_digest(config), limits=plan.limits.model_dump(mode="json")
    )
    await ledger.record_step(
        run.id, "plan", f"plan at {head[:12]}", 0, ", ".join(s.id for s in plan.steps).encode()
    )
    echo(terminal_plan(plan, run.id, "planning"))
    if plan.approval_required:
        await ledger.transition(run.id, RunState.AWAITING_APPROVAL, actor=actor, reason="the plan waits")
        if not (options.yes or confirm("Run this plan?")):
            await ledger.record_approval(
                run.id, actor, ApprovalDecision.REFUSED, role="local", reason="declined"
            )
            await ledger.transition(
                run.id, RunState.CANCELLED, actor=actor, reason="declined on the terminal"
            )
            echo(f"\nNothing was run. Run {run.id} is cancelled.")
            return run.id
        how = "--yes" if options.yes else "confirmed on the terminal"
        await ledger.record_approval(
            run.id, actor, ApprovalDecision.ACCEPTED, role="local", reason=how,
            steps_kept=[s.id for s in plan.kept()], steps_dropped=[s.id for s in plan.dropped()],
        )  # fmt: skip
    await ledger.transition(run.id, RunState.RUNNING, actor=actor, reason="approved")
    root = workspace_root(options.data_dir, run.id)
    remove(root)
    try:
        ws = await recorded_clone(ledger, run.id, str(top), head, root=root, branch=branch)
        result = await work(
            ws, plan, issue, config.workflows.docs, policy, ledger=ledger, run_id=run.id,
            image=config.setup.image or options.image, identity=LOCAL_IDENTITY,
            message=proposal.commit_message(issue), date=f"@{int(run.created_at.timestamp())} +0000",
        )  # fmt: skip
    except DiffRefusedError as exc:
        await ledger.transition(run.id, RunState.FAILED, actor="steward", reason=str(exc))
        raise LocalRunError(f"run {run.id} failed: {exc}") from None
    except (SandboxError, GitError) as exc:
        await ledger.transition(run.id, RunState.FAILED, actor="steward", reason=str(exc))
        raise LocalRunError(f"run {run.id} failed: {exc}") from None
    finally:
        remove(root)
    stat = diff_stat(result.changes)
    if result.commit is None:
        await ledger.transition(run.id, RunState.CLOSED, actor="steward", reason="nothing changed")
        echo(f"\nNothing changed, so there is nothing to propose (run {run.id}).")
        return run.id
    await ledger.record_proposal(
        run.id, branch, result.commit, diff_stat=stat, files=[c.path for c in result.changes]
    )
    await ledger.transition(run.id, RunState.PROPOSED, actor="steward", reason=f"committed on {branch}")
    diff = await _git(top, "diff", "--no-color", head, branch)
    echo(f"\n=== diff ({branch}, commit {result.commit[:12]}) ===\n{diff.rstrip()}")
    pr_body = proposal.body(plan, issue, result.outcome, stat, run.id)
    echo(f"\n=== pull request it would open ===\n{proposal.title(issue)}\n\n{pr_body}")
    echo(f"\nCommitted on local branch {branch}; nothing was pushed. Trace: steward runs show {run.id}")
    return run.id
