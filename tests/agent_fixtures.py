"""Shared by the agent tool tests: a real git checkout (git dir outside the work tree), a real sandbox
over it with a secret in the host's environment, and a collector for the server's tool-call records."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
import docker
import pytest

from app.github.protocol import IssueComment, IssueRecord
from jobs.agent.context import AgentTool, ToolCallRecord, ToolContext
from jobs.runs.workflow import Exec, WorkItem
from policies.model import Policy
from sandbox import git as hostgit
from sandbox.base import CommandResult
from sandbox.docker_sandbox import DockerSandbox
from sandbox.limits import Limits

SECRET_NAME = "STEWARD_MODEL_API_KEY"
SECRET = f"sk-steward-test-{uuid.uuid4().hex}"
"""Put in the host's environment before the sandbox starts: nothing the tools return may show it."""
LIMITS = Limits(
    memory="512m", cpus=1.0, pids=128, command_timeout=60, run_timeout=600, output_bytes=256 * 1024
)
FILES = {
    "README.md": "# Widgets\n\nWidgets make gadgets.\n",
    "CHANGELOG.md": "# Changelog\n\n## [Unreleased]\n\n## [1.0.0]\n\n- First release\n",
    "docs/guide.md": "# Guide\n\nRun `widgets --help`.\n",
    ".github/workflows/ci.yml": "name: ci\non: push\n",
    "src/widgets/__init__.py": "",
    "src/widgets/calc.py": (
        "def add(a, b):\n    return a + b\n\n\n"
        "def sign(x):\n    if x > 0:\n        return 1\n    if x < 0:\n        return -1\n    return 0\n"
    ),
    "tests/test_calc.py": "from widgets.calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    "pyproject.toml": '[project]\nname = "widgets"\nversion = "1.0"\n',
}
ISSUE = IssueRecord(
    number=7,
    title="Document the --json flag",
    body="Please mention --json in the guide.",
    state="open",
    is_pull_request=False,
    author="alice",
    labels=["documentation"],
    html_url="https://github.com/octo/widgets/issues/7",
)


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True)
    return done.stdout


def seed_repo(path: Path, files: dict[str, str] = FILES) -> Path:
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    _git(path.parent, "init", "-q", "-b", "main", str(path))
    _git(path, "add", "-A")
    _git(path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "init")
    return path


async def clone_checkout(tmp: Path, files: dict[str, str] = FILES) -> hostgit.Workspace:
    """A clone as a run makes one: root/git holds the repository, the work tree holds no .git."""
    seed = seed_repo(tmp / "seed", files)
    commit = _git(seed, "rev-parse", "HEAD").strip()
    return await hostgit.clone(seed.as_uri(), commit, root=tmp / "run", branch="steward/docs/7", ref="main")


def checkout(tmp: Path, files: dict[str, str] = FILES) -> hostgit.Workspace:
    return anyio.run(clone_checkout, tmp, files)


@dataclass
class Calls:
    """The on_call collector: every record, in order."""

    records: list[ToolCallRecord]

    async def __call__(self, record: ToolCallRecord) -> None:
        self.records.append(record)

    def last(self) -> ToolCallRecord:
        assert self.records, "no tool call was recorded"
        return self.records[-1]


def sandbox_exec(sandbox: DockerSandbox) -> Exec:
    """The run's `run` as jobs.runs.work makes it: a string goes through `sh -c`."""

    async def run(cmd: list[str] | str) -> CommandResult:
        return await sandbox.run(cmd if isinstance(cmd, list) else ["sh", "-c", cmd])

    return run


def context(
    ws: hostgit.Workspace,
    policy: Policy,
    sandbox: DockerSandbox,
    calls: Calls,
    *,
    item: WorkItem | None = None,
    comments: Sequence[IssueComment] = (),
    extra: Sequence[AgentTool] = (),
) -> ToolContext:
    return ToolContext(
        workspace=ws.work_tree,
        git_dir=ws.git_dir,
        policy=policy,
        run=sandbox_exec(sandbox),
        on_call=calls,
        item=item,
        comments=comments,
        extra=extra,
    )


@dataclass(frozen=True)
class Bench:
    """A checkout and a started sandbox over it, shared by a module's tests."""

    ws: hostgit.Workspace
    sandbox: DockerSandbox


def started_bench(
    tmp: Path, image: str, client: docker.DockerClient, name: str, files: dict[str, str] = FILES
) -> Iterator[Bench]:
    ws = checkout(tmp, files)
    os.environ[SECRET_NAME] = SECRET  # the host's environment, as a worker holding the key would have it
    sandbox = DockerSandbox(
        ws.work_tree, LIMITS, run_id=f"test-{name}-{uuid.uuid4().hex[:8]}", image=image, client=client
    )
    try:
        anyio.run(sandbox.start)
        yield Bench(ws, sandbox)
    finally:
        anyio.run(sandbox.destroy)
        os.environ.pop(SECRET_NAME, None)


@pytest.fixture
def calls() -> Calls:
    return Calls([])
