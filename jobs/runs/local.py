"""`steward run <workflow>` on a local checkout: the same plan, sandbox, policy and ledger; nothing pushed.

Any registered workflow that writes runs here through the Workflow seam. The result is committed on a local
branch `steward/<workflow>/<number>` of the checkout itself (the host-side clone pushes to it as its only
remote), and the diff and the pull-request body are printed.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio

from app.config.loader import parse_config
from app.config.model import RepoConfig
from app.constants import CONFIG_PATH
from app.github.protocol import IssueRecord
from app.mcp_servers import McpServer
from app.settings import DEFAULT_CACHE_MAX_BYTES
from jobs.agent.planning import AgentNotConfigured
from jobs.agent.spec import EngineModel
from jobs.ledger import TERMINAL, ApprovalDecision, Ledger, RunState, RunView, roles
from jobs.plan import Plan
from jobs.runs import registry
from jobs.runs.engines import EngineChoice, with_engine
from jobs.runs.finish import WorkSetup, end_run, finish
from jobs.runs.local_forge import Echo, LocalForge, git_out
from jobs.runs.localitem import LocalRunError, issue_from_commit, read_issue, repo_key
from jobs.runs.localprompt import Answer
from jobs.runs.setup import Phase
from jobs.runs.setup import choose as choose_setup
from jobs.runs.work import WorkOrder, config_digest, image_digest, recorded_clone, workspace_root
from jobs.runs.workflow import PlanInput, Workflow, WorkItem, kinds
from policies.loader import effective_policy
from policies.model import Policy
from sandbox import images
from sandbox.git import GitError, Identity, branch_name, release

LOCAL_IDENTITY = Identity("Steward", "steward@localhost")


@dataclass
class LocalOptions:
    repo: Path
    issue_json: Path | None
    yes: bool
    db_url: str
    image: str
    data_dir: Path
    allowed_images: Sequence[str] = ()
    """Images the checkout's `setup.image` may pick besides `image` (STEWARD_SANDBOX_IMAGES)."""
    workflow: str = "docs"
    paths: tuple[str, ...] = ()
    """`--paths`: what the run is about (recorded as the run's paths, given to the workflow's plan)."""
    egress_allowlist: tuple[str, ...] = ()
    """The only hosts the setup phase may reach (STEWARD_EGRESS_ALLOWLIST)."""
    egress_without_firewall: bool = False
    cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES
    """What all repositories' download caches may take together (STEWARD_CACHE_MAX_BYTES)."""
    engine: str | None = None
    """`--engine`: builtin or agent (None: the checkout's config decides)."""
    instructions: str = ""
    """`--instructions`: free text for the run, as a command's words after `/steward docs`."""
    model: Callable[[], EngineModel | None] = lambda: None
    """Makes the operator's model for the agent engine, when the plan needs it (None: none configured)."""
    model_label: str | None = None
    """`provider:name` of that model, for the plan."""
    mcp_servers: Sequence[McpServer] = ()
    """The operator's external MCP servers (STEWARD_MCP_SERVERS) the checkout's config may enable."""


def local_workflow(name: str) -> Workflow:
    """A registered workflow that writes (only those have a plan, a sandbox and a branch to run locally)."""
    writing = [workflow for workflow in registry.all_workflows() if workflow.policy().writes]
    for workflow in writing:
        if workflow.name == name:
            return workflow
    there = ", ".join(kinds(writing)) or "none"
    raise LocalRunError(f"no workflow named {name!r} runs locally; the workflows that do are: {there}")


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
        problems = "\n".join(f"  {issue.located(CONFIG_PATH)}" for issue in result.errors)
        raise LocalRunError(f"{CONFIG_PATH} has errors; writing work waits until it is fixed:\n{problems}")
    return result.config


async def _issue(options: LocalOptions, top: Path) -> IssueRecord:
    if options.issue_json is not None:
        return read_issue(options.issue_json)
    return issue_from_commit((await git_out(top, "log", "-1", "--format=%s")).strip())


@dataclass
class LocalRun:
    """A local run planned and shown; the terminal answers between plan_local and work_local."""

    run: RunView
    plan: Plan
    top: Path
    head: str
    workflow: Workflow
    item: WorkItem
    config: RepoConfig
    policy: Policy
    branch: str
    actor: str


@asynccontextmanager
async def cancelled_on_interrupt(ledger: Ledger, run_id: str, actor: str) -> AsyncIterator[None]:
    """Ctrl-C (the task cancelled) while the run is open: record it cancelled, then let it through."""
    try:
        yield
    except (asyncio.CancelledError, KeyboardInterrupt):
        with anyio.CancelScope(shield=True):
            run = await ledger.get_run(run_id)
            if run is not None and run.state not in TERMINAL:
                await ledger.transition(
                    run_id, RunState.CANCELLED, actor=actor, reason="interrupted (Ctrl-C) on the terminal"
                )
        raise


async def plan_local(options: LocalOptions, echo: Echo, err: Echo | None = None) -> LocalRun:
    """Check the checkout, record the run, plan it and print the plan (it then waits for the terminal)."""
    workflow = local_workflow(options.workflow)
    top, head = await check_checkout(options.repo)
    issue = await _issue(options, top)
    config = read_config(top)
    section = workflow.section(config)
    if not section.enabled:
        raise LocalRunError(f"the {workflow.name} workflow is disabled in {CONFIG_PATH}")
    policy = effective_policy(workflow.policy(), section)
    item = WorkItem(issue=issue, instructions=options.instructions, paths=options.paths)
    branch = branch_name(workflow.name, issue.number)
    exists = await anyio.run_process(
        ["git", "-C", str(top), "rev-parse", "--verify", "-q", f"refs/heads/{branch}"], check=False
    )
    if exists.returncode == 0:
        raise LocalRunError(
            f"branch {branch} already exists; delete it (`git branch -D {branch}`) to run again"
        )
    try:
        image = images.choose(config.setup.image, options.image, [options.image, *options.allowed_images])
    except images.ImageRefusedError as exc:
        raise LocalRunError(f"nothing was run: {exc}") from None
    await image_digest(image)  # Docker up, image built: before any record
    actor = getpass.getuser()
    ledger = await Ledger.connect(options.db_url)
    try:
        run = await ledger.create_run(
            repo_key(top),
            issue.number,
            workflow.name,
            actor=actor,
            actor_role=roles.LOCAL,
            event=f"steward run {workflow.name}",
            paths=list(options.paths),
            policy=policy.model_dump(mode="json"),
        )
        async with cancelled_on_interrupt(ledger, run.id, actor):
            given = PlanInput(item, config, policy, top, None, head)
            choice = EngineChoice(options.engine, options.model_label, options.mcp_servers)
            plan = await _plan(ledger, run.id, workflow, given, actor, list(options.egress_allowlist), choice)
            await _forge(workflow, top, head, echo, err).show_plan(run, plan)
            if plan.approval_required:
                await ledger.transition(
                    run.id, RunState.AWAITING_APPROVAL, actor=actor, reason="the plan waits"
                )
            run = await ledger.require_run(run.id)
    finally:
        await ledger.close()
    return LocalRun(run, plan, top, head, workflow, item, config, policy, branch, actor)


def _forge(workflow: Workflow, top: Path, head: str, echo: Echo, err: Echo | None) -> LocalForge:
    hint = f"run `steward run {workflow.name}` again"
    return LocalForge(top, head, echo, err or echo, retry_hint=hint)


async def _plan(
    ledger: Ledger,
    run_id: str,
    workflow: Workflow,
    given: PlanInput,
    actor: str,
    hosts: list[str],
    choice: EngineChoice,
) -> Plan:
    await ledger.transition(run_id, RunState.PLANNING, actor=actor, reason="planning against HEAD")
    git_dir = Path((await git_out(given.workspace, "rev-parse", "--absolute-git-dir")).strip())
    given = PlanInput(given.item, given.config, given.policy, given.workspace, git_dir, given.base_sha)
    plan = await anyio.to_thread.run_sync(lambda: workflow.plan(given))
    install = choose_setup(given.workspace, given.config, workflow, given.policy, hosts)
    plan = plan.model_copy(update={"setup": install})
    section = workflow.section(given.config)
    try:
        plan = with_engine(plan, section, given.policy, choice, given.workspace, git_dir, given.item.issue)
    except AgentNotConfigured as exc:
        await ledger.transition(run_id, RunState.FAILED, actor=actor, reason=exc.reason)
        raise LocalRunError(f"nothing was run: {exc}") from None
    await ledger.set_plan(run_id, plan)
    await ledger.update_run(
        run_id, config_digest=config_digest(given.config), limits=plan.limits.model_dump(mode="json")
    )
    await ledger.record_step(
        run_id, "plan", f"plan at {given.base_sha[:12]}", 0, ", ".join(s.id for s in plan.steps).encode()
    )
    return plan


async def decide_local(options: LocalOptions, local: LocalRun, answer: Answer) -> bool:
    """Record the terminal's answer as GitHub's approve (unticked steps dropped) or a cancel; True to run."""
    ledger = await Ledger.connect(options.db_url, run_migrations=False)
    run_id, actor = local.run.id, local.actor
    try:
        if not answer.approved:
            await ledger.record_approval(
                run_id, actor, ApprovalDecision.REFUSED, role=roles.LOCAL, reason=answer.reason
            )
            await ledger.transition(run_id, RunState.CANCELLED, actor=actor, reason=answer.reason)
            return False
        local.plan = local.plan.with_ticked({s.id for s in local.plan.kept()} - answer.skipped)
        if local.plan.approval_required or answer.skipped:
            await ledger.record_approval(
                run_id, actor, ApprovalDecision.ACCEPTED, role=roles.LOCAL, reason=answer.reason,
                steps_kept=[s.id for s in local.plan.kept()],
                steps_dropped=[s.id for s in local.plan.dropped()],
            )  # fmt: skip
            await ledger.set_plan(run_id, local.plan)
        await ledger.transition(run_id, RunState.RUNNING, actor=actor, reason="approved")
        local.run = await ledger.require_run(run_id)
        return True
    finally:
        await ledger.close()


async def work_local(options: LocalOptions, local: LocalRun, echo: Echo, err: Echo | None = None) -> str:
    """Work in the sandbox and commit on the local branch; the run id."""
    ledger = await Ledger.connect(options.db_url, run_migrations=False)
    try:
        async with cancelled_on_interrupt(ledger, local.run.id, local.actor):
            return await _work(
                ledger, options, local, _forge(local.workflow, local.top, local.head, echo, err)
            )
    finally:
        await ledger.close()


async def _work(ledger: Ledger, options: LocalOptions, local: LocalRun, forge: LocalForge) -> str:
    run, plan, config = local.run, local.plan, local.config
    forge.shown.add(run.id)
    root = workspace_root(options.data_dir, run.id)
    await release(root)
    try:
        try:
            ws = await recorded_clone(
                ledger,
                run.id,
                str(local.top),
                local.head,
                root=root,
                branch=local.branch,
                disk=plan.limits.disk,
            )
        except Exception as exc:  # GitError, or the data directory refusing the clone (OSError)
            why = str(exc) if isinstance(exc, GitError) else f"{type(exc).__name__}: {exc}"
            await end_run(ledger, forge, run, RunState.FAILED, f"the clone failed: {why}"[:500], why)
            raise LocalRunError(f"run {run.id} failed: {why}") from None
        image = images.choose(config.setup.image, options.image, [options.image, *options.allowed_images])
        phase = Phase(
            options.data_dir, str(local.top), options.egress_without_firewall, options.cache_max_bytes
        )
        message = local.workflow.commit_message(local.item)
        model = options.model() if plan.agent is not None else None
        setup = WorkSetup(image, LOCAL_IDENTITY, message, phase=phase, model=model)
        order = WorkOrder(local.workflow, local.item, config, local.policy)
        await finish(ledger, forge, run, plan, ws, order, setup)
    finally:
        await release(root)
    final = await ledger.require_run(run.id)
    if final.state == RunState.FAILED or (final.plan is not None and final.plan.failed()):
        what = "failed" if final.state == RunState.FAILED else f"is {final.state.value}, but a step failed"
        raise LocalRunError(f"run {run.id} {what} (see above); trace: steward runs show {run.id}")
    return run.id
