"""`steward runs replay ID`: the agent engine again, on the recorded model responses, in a fresh sandbox.

The replay is a run of its own in the ledger (event `steward runs replay <id>`), on a fresh clone of the
local checkout at the recorded base commit. It reports whether it made the same tool calls (names and
argument digests, in order) and left the same tree as the recorded run's proposal; nothing is committed.
If the checkout's HEAD has moved since the run, it says so: the replay still works on the recorded base.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from app.mcp_servers import McpServer
from jobs.agent.replay import recorded, replay_model, tool_calls
from jobs.ledger import Ledger, RunState, RunView, roles
from jobs.runs import registry
from jobs.runs.engines import recorded_issue
from jobs.runs.local import read_config
from jobs.runs.local_forge import git_out
from jobs.runs.localitem import LOCAL_PREFIX, LocalRunError
from jobs.runs.setup import Phase
from jobs.runs.work import Sandboxed, WorkOrder, path_policy, work_in_sandbox, workspace_root
from jobs.runs.workflow import WorkItem
from policies.loader import effective_policy
from sandbox import images
from sandbox.git import GitError, changes, clone, host_git, release


@dataclass
class ReplayReport:
    """What the replay found, in lines for the terminal, and whether it matched."""

    original: str
    replay: str
    same_calls: bool
    same_diff: bool
    lines: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return self.same_calls and self.same_diff


def _checkout(run: RunView, repo: Path | None) -> Path:
    if repo is not None:
        return repo.resolve()
    if run.repo.startswith(LOCAL_PREFIX):
        return Path(run.repo[len(LOCAL_PREFIX) :])
    raise LocalRunError(f"run {run.id} ran on {run.repo}; give its checkout with --repo DIR")


async def _tree(top: Path, rev: str) -> str | None:
    probe = await anyio.run_process(["git", "-C", str(top), "rev-parse", "-q", "--verify", f"{rev}^{{tree}}"],
                                    check=False)  # fmt: skip
    return probe.stdout.decode().strip() if probe.returncode == 0 else None


async def replay_run(
    db_url: str,
    run_id: str,
    *,
    data_dir: Path,
    image: str,
    repo: Path | None = None,
    servers: Sequence[McpServer] = (),
) -> ReplayReport:
    """`servers`: the operator's external MCP servers, for a run whose plan used some (called again)."""
    ledger = await Ledger.connect(db_url)
    try:
        return await _replay(ledger, run_id, data_dir=data_dir, image=image, repo=repo, servers=servers)
    finally:
        await ledger.close()


async def _replay(
    ledger: Ledger,
    run_id: str,
    *,
    data_dir: Path,
    image: str,
    repo: Path | None,
    servers: Sequence[McpServer],
) -> ReplayReport:
    trace = await ledger.trace(run_id)
    run, plan = trace.run, trace.run.plan
    if plan is None or plan.agent is None:
        raise LocalRunError(f"run {run_id} did not use the agent engine; there is nothing to replay")
    found = recorded(trace)
    if not found.responses:
        raise LocalRunError(f"run {run_id} recorded no model response; there is nothing to replay")
    top = _checkout(run, repo)
    base = plan.base_sha
    base_tree = await _tree(top, base)
    if base_tree is None:
        raise LocalRunError(f"the recorded base {base[:12]} is not in {top}; the replay needs that commit")
    lines = []
    head = (await git_out(top, "rev-parse", "HEAD")).strip()
    if head != base:
        lines.append(f"the base has moved: {top} is now at {head[:12]}, the run was made on {base[:12]}; "
                     "the replay works on the recorded base")  # fmt: skip
    workflow = registry.get(run.workflow)
    config = read_config(top)
    policy = effective_policy(workflow.policy(), workflow.section(config))
    actor = getpass.getuser()
    again = await ledger.create_run(
        run.repo, run.number, run.workflow, actor=actor, actor_role=roles.LOCAL,
        event=f"steward runs replay {run_id}", instructions=run.instructions, paths=run.paths,
        retry_of=run_id,
    )  # fmt: skip
    await ledger.transition(again.id, RunState.PLANNING, actor=actor, reason=f"replay of {run_id}")
    await ledger.set_plan(again.id, plan)
    await ledger.transition(again.id, RunState.RUNNING, actor=actor, reason="the recorded plan, as approved")
    root = workspace_root(data_dir, again.id)
    await release(root)
    try:
        try:
            ws = await clone(
                str(top), base, root=root, branch=f"steward/replay/{again.id}", disk=plan.limits.disk
            )
        except GitError as exc:
            await ledger.transition(
                again.id, RunState.FAILED, actor=actor, reason=f"the clone failed: {exc}"[:500]
            )
            raise LocalRunError(f"replay {again.id} failed: {exc}") from None
        issue = recorded_issue(plan, run.number)
        order = WorkOrder(workflow, WorkItem(issue, run.instructions, tuple(run.paths)), config, policy)
        chosen = images.choose(config.setup.image, image, [image])
        how = Sandboxed(chosen, Phase(data_dir, str(top)), replay_model(found, servers))
        try:
            await work_in_sandbox(ws, plan, order, how, ledger=ledger, run_id=again.id)
            await changes(ws, path_policy(policy).max_file_bytes)
            argv, env = host_git(ws.git_dir, ws.work_tree, "write-tree")
            replay_tree = (await anyio.run_process(argv, env=env)).stdout.decode().strip()
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"
            await ledger.transition(
                again.id, RunState.FAILED, actor=actor, reason=f"the replay failed: {why}"[:500]
            )
            lines.append(f"the replay stopped: {why}")
            replay_tree = ""
    finally:
        await release(root)
    original_tree = base_tree
    if trace.proposals:
        original_tree = await _tree(top, trace.proposals[-1].commit_sha) or ""
    again_trace = await ledger.trace(again.id)
    same_calls = tool_calls(again_trace) == found.calls
    same_diff = bool(replay_tree) and replay_tree == original_tree
    lines.append(f"tool calls: {'the same' if same_calls else 'DIFFERENT'} "
                 f"({len(found.calls)} recorded, {len(tool_calls(again_trace))} replayed)")  # fmt: skip
    lines.append(f"diff: {'the same' if same_diff else 'DIFFERENT'}")
    now = await ledger.require_run(again.id)
    if now.state == RunState.RUNNING:
        verdict = "same tool calls and diff" if same_calls and same_diff else "the replay differs"
        await ledger.transition(
            again.id, RunState.CLOSED, actor=actor, reason=f"replay of {run_id}: {verdict}"
        )
    return ReplayReport(run_id, again.id, same_calls, same_diff, lines)
