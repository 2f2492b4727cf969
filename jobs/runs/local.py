"""`steward run docs` against a local checkout: the same plan, sandbox, policy and ledger; nothing pushed.

The result is committed on a local branch `steward/docs/<number>` of the checkout itself (the host-side
clone pushes to it as its only remote), and the diff and the pull-request body are printed.
"""

from __future__ import annotations

import getpass
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
from jobs.runs import proposal
from jobs.runs.finish import WorkSetup, end_run, finish
from jobs.runs.local_forge import Echo, LocalForge, git_out
from jobs.runs.localitem import LocalRunError, issue_from_commit, read_issue
from jobs.runs.work import config_digest, image_digest, recorded_clone, workspace_root
from policies.loader import effective_policy, load_policy
from policies.model import Policy
from sandbox.git import GitError, Identity, branch_name, remove

WORKFLOW = "docs"
LOCAL_IDENTITY = Identity("Steward", "steward@localhost")

Confirm = Callable[[str], bool]


@dataclass
class LocalOptions:
    repo: Path
    issue_json: Path | None
    yes: bool
    db_url: str
    image: str
    data_dir: Path


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
    dirty = (await git_out(top, "status", "--porcelain", "--untracked-files=no")).strip()
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


async def _issue(options: LocalOptions, top: Path) -> IssueRecord:
    if options.issue_json is not None:
        return read_issue(options.issue_json)
    return issue_from_commit((await git_out(top, "log", "-1", "--format=%s")).strip())


async def run_local(options: LocalOptions, echo: Echo, confirm: Confirm, err: Echo | None = None) -> str:
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
        return await _lifecycle(
            ledger, options, top, head, issue, config, policy, branch, echo, confirm, err or echo
        )
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
    err: Echo,
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
    forge = LocalForge(top, head, echo, err)
    await forge.show_plan(await ledger.require_run(run.id), plan)
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
        try:
            ws = await recorded_clone(ledger, run.id, str(top), head, root=root, branch=branch)
        except Exception as exc:  # GitError, or the data directory refusing the clone (OSError)
            why = str(exc) if isinstance(exc, GitError) else f"{type(exc).__name__}: {exc}"
            await end_run(ledger, forge, run, RunState.FAILED, f"the clone failed: {why}"[:500], why)
            raise LocalRunError(f"run {run.id} failed: {why}") from None
        setup = WorkSetup(config.setup.image or options.image, LOCAL_IDENTITY, proposal.commit_message(issue))
        await finish(ledger, forge, run, plan, issue, ws, config.workflows.docs, policy, setup)
    finally:
        remove(root)
    final = await ledger.require_run(run.id)
    if final.state == RunState.FAILED:
        raise LocalRunError(f"run {run.id} failed (see above); trace: steward runs show {run.id}")
    return run.id
