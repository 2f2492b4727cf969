"""The Workflow seam: a third workflow, defined and registered here, runs plan -> work -> proposal through the
unchanged lifecycle (locally and on GitHub), and the lifecycle imports no workflow."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import respx

from app.config.model import RepoConfig, WorkflowConfig
from app.settings import Settings
from jobs.ledger import Ledger, RunState
from jobs.plan import Plan, PlanStep
from jobs.runs import registry
from jobs.runs.local import LocalOptions, decide_local, plan_local, work_local
from jobs.runs.localitem import LocalRunError
from jobs.runs.localprompt import Answer
from jobs.runs.queue import plan_job_id
from jobs.runs.workflow import Outcome, PlanInput, StepOutcome, WorkInput, WorkItem
from policies.model import ApprovalRule, Policy
from tests.run_fixtures import (
    APPROVER,
    INSTALLATION_ID,
    ISSUE,
    MAINTAINER,
    FakeRunGitHub,
    Remote,
    git,
    runs,
    say,
    statuses_for,
)
from tests.test_local_run import ISSUE_JSON, checkout
from tests.worker_support import enqueue, run_burst

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "github"


class NotesWorkflow:
    """A workflow the lifecycle has never heard of: one note per item, written by a command in the sandbox."""

    name = "notes"

    def __init__(self) -> None:
        self.items: list[WorkItem] = []

    def policy(self) -> Policy:
        return Policy(
            workflow=self.name,
            permissions={
                "contents": "write",
                "pull_requests": "write",
                "issues": "write",
                "statuses": "write",
            },
            writable=["notes/**"],
            max_files=3,
            max_lines=50,
            approval=ApprovalRule(required=True, level="write"),
        )

    def section(self, config: RepoConfig) -> WorkflowConfig:
        return WorkflowConfig()

    def install(self, config: RepoConfig) -> str | None:
        return None

    def plan(self, given: PlanInput) -> Plan:
        self.items.append(given.item)
        number = given.item.issue.number
        return Plan(
            workflow=self.name,
            number=number,
            steps=[PlanStep(id="note", title=f"Write notes/{number}.md", detail="in the sandbox")],
            paths=list(given.policy.writable),
            denied_paths=list(given.policy.denied),
            limits=given.policy.limits,
            permissions=dict(given.policy.permissions),
            approval_required=given.policy.approval.required,
            approval_level=given.policy.approval.level,
            base_sha=given.base_sha,
        )

    async def work(self, given: WorkInput) -> Outcome:
        number = given.item.issue.number
        about = " ".join(given.item.paths + given.item.changed_files) or "nothing named"
        # A string goes through `sh -c` in the sandbox; the file appears in the workspace the host commits.
        done = await given.run(f"mkdir -p notes && echo 'about: {about}' > notes/{number}.md && id -u")
        status = "done" if done.ok else "failed"
        return Outcome(
            changed=[f"notes/{number}.md"],
            steps=[StepOutcome("note", status, f"uid {done.output.strip()}")],
        )

    def title(self, item: WorkItem) -> str:
        return f"notes: jot down #{item.issue.number}"

    def commit_message(self, item: WorkItem) -> str:
        return f"{self.title(item)}\n\nWritten by the notes workflow.\n\nRefs #{item.issue.number}"

    def body(self, plan: Plan, item: WorkItem, outcome: Outcome, stat: str, run_id: str) -> str:
        steps = ", ".join(f"{step.step_id}={step.status}" for step in outcome.steps)
        return f"The notes workflow's body for #{item.issue.number} (run {run_id}): {steps}\n\n{stat}"


@pytest.fixture
def notes() -> Iterator[NotesWorkflow]:
    workflow = NotesWorkflow()
    registry.register(workflow)
    try:
        yield workflow
    finally:
        registry.unregister(workflow.name)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _by_name(path: Path) -> set[str]:
    """A workflow reached by name: `load_policy(...)` called, or `<config>.workflows.<name>` read."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", "")) == "load_policy"
        ):
            found.add("load_policy()")
        if isinstance(node, ast.Attribute) and getattr(node.value, "attr", "") == "workflows":
            found.add(f"workflows.{node.attr}")
    return found


def test_the_lifecycle_imports_no_workflow_package_nor_one_workflows_config() -> None:
    config_classes = {"DocsConfig", "TestsConfig", "DuplicatesConfig", "WorkflowsConfig"}
    modules = sorted((ROOT / "jobs" / "runs").glob("*.py"))
    assert len(modules) > 10
    found = {
        f"{path.name}: {name}"
        for path in modules
        for name in _imports(path)
        if name.startswith(("jobs.workflows", "jobs.docs", "jobs.duplicates"))
        or name.rsplit(".", 1)[-1] in config_classes
    }
    assert found == set()
    assert {f"{path.name}: {name}" for path in modules for name in _by_name(path)} == set()


def test_the_check_sees_a_workflow_import(tmp_path: Path) -> None:
    planted = tmp_path / "bad.py"
    planted.write_text(
        "from jobs.workflows.docs.engine import plan_docs\nfrom app.config.model import DocsConfig\n"
    )
    assert {"jobs.workflows.docs.engine", "app.config.model.DocsConfig"} <= _imports(planted)


def _options(tmp_path: Path, settings: Settings, workflow: str, repo: Path) -> LocalOptions:
    return LocalOptions(
        repo=repo,
        issue_json=ISSUE_JSON,
        yes=True,
        db_url=settings.db_url,
        image=settings.sandbox_image,
        data_dir=tmp_path / "data",
        workflow=workflow,
        paths=("src/a.py", "src/b.py"),
    )


@pytest.mark.anyio
@pytest.mark.docker
async def test_a_third_workflow_registered_here_runs_plan_work_proposal_locally(
    tmp_path: Path, settings: Settings, notes: NotesWorkflow
) -> None:
    repo = checkout(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    options = _options(tmp_path, settings, "notes", repo)
    out: list[str] = []
    local = await plan_local(options, out.append)
    assert local.run.state == RunState.AWAITING_APPROVAL and local.plan.workflow == "notes"
    assert await decide_local(options, local, Answer(True, "--yes"))
    run_id = await work_local(options, local, out.append)

    branch = "steward/notes/7"  # named after the workflow, by the lifecycle
    assert git(repo, "diff", "--name-only", head, branch).split() == ["notes/7.md"]
    assert git(repo, "show", f"{branch}:notes/7.md") == "about: src/a.py src/b.py"
    message = git(repo, "log", "-1", "--format=%B", branch)
    assert message.startswith("notes: jot down #7\n\nWritten by the notes workflow.") and run_id in message
    text = "\n".join(out)
    assert "notes: jot down #7\n\nThe notes workflow's body for #7" in text and "note=done" in text
    assert notes.items[0].paths == ("src/a.py", "src/b.py") and notes.items[0].issue.number == 7
    ledger = await Ledger.connect(settings.db_url, run_migrations=False)
    try:
        run = await ledger.require_run(run_id)
        trace = await ledger.trace(run_id)
    finally:
        await ledger.close()
    assert (
        run.workflow == "notes" and run.paths == ["src/a.py", "src/b.py"] and run.state == RunState.PROPOSED
    )
    assert run.event == "steward run notes"
    (execd,) = [step for step in trace.steps if step.name == "exec"]
    assert execd.command.startswith("sh -c 'mkdir -p notes") and execd.exit_code == 0


@pytest.mark.anyio
async def test_an_unknown_or_non_writing_workflow_is_refused_with_what_there_is(
    tmp_path: Path, settings: Settings, notes: NotesWorkflow
) -> None:
    repo = checkout(tmp_path)
    for name in ("nope", "duplicates"):
        with pytest.raises(LocalRunError) as refused:
            await plan_local(_options(tmp_path, settings, name, repo), print)
        assert f"no workflow named {name!r} runs locally" in str(refused.value)
        assert "the workflows that do are: docs, notes" in str(refused.value)
    assert not (tmp_path / "data").exists()  # nothing recorded, nothing cloned


@pytest.mark.anyio
@pytest.mark.docker
async def test_a_third_workflow_runs_on_github_plan_comment_approval_and_its_own_pull_request(
    settings: Settings,
    github: FakeRunGitHub,
    remote: Remote,
    api: respx.MockRouter,
    notes: NotesWorkflow,
) -> None:
    github.timeline[ISSUE] = json.loads((FIXTURES / "timeline.json").read_text())
    github.pull_files[9] = json.loads((FIXTURES / "pull_files.json").read_text())
    ledger = await Ledger.connect(settings.db_url)
    try:
        run = await ledger.create_run(
            github.full, ISSUE, "notes", actor=MAINTAINER, event="a test", paths=["src/x.py"],
            installation_id=INSTALLATION_ID,
        )  # fmt: skip
    finally:
        await ledger.close()
    await enqueue(settings, "plan_run", plan_job_id(run.id), run_id=run.id)
    await run_burst(settings)
    (plan,) = github.plan_comments()
    assert "Write notes/7.md" in plan["body"] and "state **awaiting approval**" in plan["body"]
    changed = ("sample/cli.py", "sample/times.py", "sample/greet.py")  # PR #9's files, linked on the timeline
    assert notes.items[0].changed_files == changed and notes.items[0].paths == ("src/x.py",)
    assert remote.sha("steward/notes/7") is None

    await say(settings, "/steward approve", APPROVER, 7002)
    head = remote.sha("steward/notes/7")
    assert head is not None and remote.files_changed(str(remote.sha()), head) == ["notes/7.md"]
    assert git(remote.bare, "show", f"{head}:notes/7.md") == f"about: src/x.py {' '.join(changed)}"
    assert git(remote.bare, "log", "-1", "--format=%s", head) == "notes: jot down #7"
    (pull,) = github.pulls
    assert pull["title"] == "notes: jot down #7" and pull["head"]["ref"] == "steward/notes/7"
    assert pull["body"].startswith(f"The notes workflow's body for #7 (run {run.id}): note=done")
    assert statuses_for(github, head) == ["pending"]
    (done,) = await runs(settings)
    assert done.state == RunState.PROPOSED and done.pr_number == pull["number"]
