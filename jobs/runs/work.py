"""The work phase both forges share: the approved plan carried out in a sandbox, the diff checked whole."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import docker
from docker.errors import DockerException, ImageNotFound

from app.config.model import RepoConfig
from app.github.protocol import IssueComment
from jobs import failpoints
from jobs.agent.budget import Meter
from jobs.agent.planning import NOT_CONFIGURED, AgentNotConfigured
from jobs.agent.spec import AgentRun, EngineModel
from jobs.agent.task import AgentResult, AgentTask, RunAgent
from jobs.ledger import Ledger
from jobs.ledger.recording import recorded
from jobs.plan import Plan
from jobs.runs.engines import AGENT_STEP, agent_wanted, memory_text
from jobs.runs.revision.agent import revision_task
from jobs.runs.revision.result import note_outcomes, without_notes
from jobs.runs.setup import Phase, run_setup, sandbox_options
from jobs.runs.workflow import Exec, Outcome, StepOutcome, Workflow, WorkInput, WorkItem
from policies.model import Policy
from sandbox.base import CommandResult, ImageMissingError, SandboxError, SandboxLost
from sandbox.basemerge import MergeIn
from sandbox.container import daemon_gone
from sandbox.diffcheck import FileChange, PathPolicy
from sandbox.docker_sandbox import DockerSandbox
from sandbox.git import GitError, Identity, Workspace, changes, clone, commit_and_push

log = logging.getLogger(__name__)


@dataclass
class WorkResult:
    """What the work phase left: the workflow's outcome, the files changed, the commit (None: no change)."""

    outcome: Outcome
    commit: str | None
    changes: list[FileChange] = field(default_factory=list)
    patch: str = ""
    """The committed diff as a reviewer reads it (filled in before the proposal; empty when git failed)."""


def config_digest(config: RepoConfig) -> str:
    """The configuration a run ran under, as one digest for the ledger."""
    return hashlib.sha256(config.model_dump_json().encode()).hexdigest()


def path_policy(policy: Policy) -> PathPolicy:
    """The effective policy as the diff check reads it."""
    return PathPolicy(
        allowed=tuple(policy.writable),
        denied=tuple(policy.denied),
        max_files=policy.max_files or PathPolicy.max_files,
        max_lines=policy.max_lines or PathPolicy.max_lines,
        max_file_bytes=policy.max_file_bytes,
        max_bytes=policy.max_bytes,
    )


def diff_stat(found: list[FileChange]) -> str:
    """`path | +a -r` lines and a total, like `git diff --stat` without the bars."""
    if not found:
        return "no changes"
    width = max(len(change.path) for change in found)
    lines = [
        f"{change.path.ljust(width)} | {'binary' if change.binary else f'+{change.added} -{change.removed}'}"
        for change in found
    ]
    added = sum(change.added for change in found)
    removed = sum(change.removed for change in found)
    lines.append(f"{len(found)} file(s) changed, {added} insertion(s)(+), {removed} deletion(s)(-)")
    return "\n".join(lines)


def _unreachable(exc: DockerException) -> SandboxError:
    """Docker out of reach: SandboxLost (the job is tried again) when the daemon is down or restarting."""
    text = f"Docker is not reachable ({exc}); start dockerd and try again"
    return SandboxLost(text) if daemon_gone(exc) else SandboxError(text)


def _digest(image: str) -> str:
    try:
        client = docker.from_env(timeout=30)
    except DockerException as exc:
        raise _unreachable(exc) from None
    try:
        found = client.images.get(image)
        return str(found.id)
    except ImageNotFound:
        raise ImageMissingError(
            f"the sandbox image {image} is not on this Docker host; build it with `steward sandbox build`"
        ) from None
    except DockerException as exc:
        raise _unreachable(exc) from None
    finally:
        client.close()


async def image_digest(image: str) -> str:
    """The image's id (sha256 digest) for the ledger; a clear error when it or Docker is missing."""
    return await anyio.to_thread.run_sync(_digest, image)


@dataclass(frozen=True)
class WorkOrder:
    """What the work phase carries out: which workflow, for what, under which configuration and policy."""

    workflow: Workflow
    item: WorkItem
    config: RepoConfig
    policy: Policy
    comments: tuple[IssueComment, ...] = ()
    """The item's comments by people (for the agent's get_issue; none are fetched for the built-in engine)."""


def _exec(runner: Callable[[list[str]], Awaitable[CommandResult]]) -> Exec:
    """The seam's `run`: an argv as it is, a string through `sh -c` (recorded as that argv)."""

    async def run(cmd: list[str] | str) -> CommandResult:
        return await runner(cmd if isinstance(cmd, list) else ["sh", "-c", cmd])

    return run


def _agent(where: AgentRun, model: EngineModel, *, revising: bool = False) -> RunAgent:
    """The agent for the workflow to call, once or per module: every call spends from one budget. In a
    revision, each task is framed as one (the review comments reach the model as data in its prompt)."""
    meter = Meter(where.plan.budget)
    if model.retries is not None:
        model.retries.meter = meter

    async def call(task: AgentTask) -> AgentResult:
        from jobs.agent.engine import run_agent  # pydantic-ai, mcp and the SDKs load only when an agent works

        return await run_agent(where, model, revision_task(task) if revising else task, meter)

    return call


@dataclass(frozen=True)
class Sandboxed:
    """How the work step's sandbox is made: the image, the setup phase's choices, the agent's model."""

    image: str
    phase: Phase | None = None
    model: EngineModel | None = None


async def work_in_sandbox(
    ws: Workspace, plan: Plan, order: WorkOrder, how: Sandboxed, *, ledger: Ledger, run_id: str
) -> Outcome:
    """The setup phase (if the plan has one), then the workflow's work step on the plan's kept steps, in a
    fresh sandbox with no network; the work tree holds the result (nothing committed)."""
    if plan.agent is not None and agent_wanted(plan) and how.model is None:
        raise AgentNotConfigured(NOT_CONFIGURED)
    try:
        return await _work_in_sandbox(ws, plan, order, how, ledger=ledger, run_id=run_id)
    finally:
        if how.model is not None and how.model.close is not None:
            await how.model.close()


async def _work_in_sandbox(
    ws: Workspace, plan: Plan, order: WorkOrder, how: Sandboxed, *, ledger: Ledger, run_id: str
) -> Outcome:
    digest = await image_digest(how.image)
    await ledger.update_run(run_id, sandbox_image=how.image, sandbox_digest=digest)
    install = plan.setup if plan.setup is not None and plan.setup.command else None
    if order.policy.network == "none":
        install = None  # a plan made under a looser policy never opens the network
    options = await anyio.to_thread.run_sync(sandbox_options, install, how.phase or Phase())
    async with DockerSandbox(ws.work_tree, plan.limits, run_id=run_id, image=how.image, **options) as sb:
        if install is not None:
            await run_setup(sb, install, ledger, run_id)

        async def in_sandbox(argv: list[str]) -> CommandResult:
            return await sb.run(argv)

        run = _exec(recorded(in_sandbox, ledger, run_id, "exec"))
        agent = None
        if plan.agent is not None and agent_wanted(plan) and how.model is not None:
            where = AgentRun(
                ledger=ledger, run_id=run_id, workflow=order.workflow.name, workspace=ws.work_tree,
                git_dir=ws.git_dir, policy=order.policy, plan=plan.agent, run=run, item=order.item,
                comments=order.comments,
                memory=memory_text(ws.work_tree, plan),
            )  # fmt: skip
            agent = _agent(where, how.model, revising=plan.revision is not None)
        given = WorkInput(
            item=order.item,
            config=order.config,
            policy=order.policy,
            plan=without_notes(plan),
            workspace=ws.work_tree,
            git_dir=ws.git_dir,
            budget=plan.limits,
            run=run,
            agent=agent,
        )
        await failpoints.hit("work")
        outcome = await order.workflow.work(given)
        if outcome.agent is not None:
            done = outcome.agent
            detail = (f"{done.requests} model request(s), {done.tool_calls} tool call(s), "
                      f"{len(done.written)} file(s) written")  # fmt: skip
            outcome.steps.append(StepOutcome(AGENT_STEP, "done", detail))
        return outcome


async def work(
    ws: Workspace,
    plan: Plan,
    order: WorkOrder,
    *,
    ledger: Ledger,
    run_id: str,
    image: str,
    identity: Identity,
    message: str,
    date: str,
    token: str | None = None,
    phase: Phase | None = None,
    model: EngineModel | None = None,
    push: bool = True,
) -> WorkResult:
    """Work in the sandbox (work_in_sandbox), then check, commit and push the diff (or only commit).

    Raises sandbox.git.DiffRefusedError when the diff leaves the policy's paths: nothing is committed.
    """
    how = Sandboxed(image, phase, model)
    outcome = await work_in_sandbox(ws, plan, order, how, ledger=ledger, run_id=run_id)
    await failpoints.hit("diff")
    paths = path_policy(order.policy)
    found = await changes(ws, paths.max_file_bytes)
    outcome.steps += note_outcomes(plan, found, outcome.agent)  # a revision's comment steps, if any
    await failpoints.hit("push")
    commit = await commit_and_push(
        ws,
        policy=paths,
        run_id=run_id,
        message=message,
        identity=identity,
        token=token,
        date=date,
        found=found,
        push=push,
    )
    what = "commit and push" if token is not None and push else "commit"  # local runs push to the checkout
    await ledger.record_step(
        run_id, "commit", f"{what} {ws.branch}", 0, (commit or "nothing to commit").encode()
    )
    return WorkResult(outcome=outcome, commit=commit, changes=found)


async def recorded_clone(
    ledger: Ledger,
    run_id: str,
    url: str,
    commit: str,
    *,
    root: Path,
    branch: str,
    token: str | None = None,
    ref: str | None = None,
    disk: int | None = None,
    merge: MergeIn | None = None,
) -> Workspace:
    """Host-side clone at the planned commit (with a revision's merge of the default branch), recorded as a
    step (the URL never carries the token)."""
    started = time.monotonic()
    command = f"git fetch {commit} (host side)"
    if merge is not None:
        command += f", merge {merge.ref} at {merge.sha[:12]} in"
    await failpoints.hit("clone")
    try:
        ws = await clone(url, commit, root=root, branch=branch, token=token, ref=ref, disk=disk, merge=merge)
    except GitError as exc:
        await ledger.record_step(run_id, "clone", command, 1, str(exc), time.monotonic() - started)
        raise
    done = f"{branch} at {commit}"
    if ws.merged is not None:
        done += f"; merged {ws.merged.base} in as {ws.merged.commit}"
    await ledger.record_step(run_id, "clone", command, 0, done, time.monotonic() - started)
    return ws


def workspaces_dir(data_dir: Path) -> Path:
    """Where every run's clone lives; the reaper clears what a crashed worker left there."""
    return data_dir / "workspaces"


def workspace_root(data_dir: Path, run_id: str) -> Path:
    """Where a run's clone lives on the host (removed when the run's work ends)."""
    return workspaces_dir(data_dir) / run_id
