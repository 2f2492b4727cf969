"""A run's cost is real: each sandbox step's wall and CPU time (from the container's cgroup) add up to it."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import docker
import pytest

from app.commands.status import render_status
from jobs.ledger import Ledger, RunTrace
from jobs.ledger.render import format_cost
from sandbox import cgroup
from sandbox.docker_sandbox import DockerSandbox
from sandbox.limits import Limits
from tests.sandbox_fixtures import docker_client, sandbox_dir, sandbox_image  # noqa: F401
from tests.test_local_run import ISSUE_JSON, checkout, steward

BUSY = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n", 2.5),  # cgroup v2 cpu.stat
        ("1234567890\n", 1.23456789),  # cgroup v1 cpuacct.usage, in nanoseconds
        ("cat: /sys/fs/cgroup/cpuacct/cpuacct.usage: No such file or directory\nusage_usec 10\n", 0.00001),
        ("cat: /sys/fs/cgroup/cpu.stat: No such file or directory\n", None),
    ],
)
def test_cpu_usage_is_read_from_either_cgroup_version(text: str, seconds: float | None) -> None:
    assert cgroup.cpu_seconds(text) == (pytest.approx(seconds) if seconds is not None else None)


@pytest.mark.anyio
@pytest.mark.docker
@pytest.mark.parametrize("where", ["host", "inside"])
async def test_a_command_reports_the_cpu_its_container_used(
    where: str,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if where == "inside":  # as with a remote Docker daemon: no cgroup files on this host
        monkeypatch.setattr(cgroup, "host_files", lambda container_id: None)
    sandbox = DockerSandbox(
        sandbox_dir(tmp_path / "ws"),
        Limits(command_timeout=30),
        run_id=f"test-cost-{uuid.uuid4().hex[:8]}",
        image=sandbox_image,
        client=docker_client,
    )
    async with sandbox:
        busy = await sandbox.run(["python3", "-c", BUSY])
        idle = await sandbox.run(["sleep", "0.5"])
    assert busy.ok and busy.cpu_seconds is not None and 0.4 <= busy.cpu_seconds < busy.duration + 0.5
    assert idle.ok and idle.cpu_seconds is not None and idle.cpu_seconds < 0.2 and idle.duration >= 0.5


def _read(db: Path, run_id: str) -> tuple[RunTrace, str]:
    async def go() -> tuple[RunTrace, str]:
        ledger = await Ledger.connect(f"sqlite+aiosqlite:///{db}")
        try:
            trace = await ledger.trace(run_id)
            status = render_status(await ledger.runs_for(trace.run.repo, trace.run.number), "/steward")
            return trace, status
        finally:
            await ledger.close()

    return asyncio.run(go())


@pytest.mark.docker
def test_a_docs_run_records_the_wall_and_cpu_of_its_sandbox_steps_and_every_view_shows_them(
    tmp_path: Path,
) -> None:
    repo = checkout(tmp_path)
    done = steward(tmp_path, "run", "docs", "--repo", str(repo), "--issue-json", str(ISSUE_JSON), "--yes")
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.rsplit("steward runs show ", 1)[1].split()[0]
    trace, status = _read(tmp_path / "data" / "steward.db", run_id)
    run = trace.run
    sandboxed = [step for step in trace.steps if step.cpu_seconds is not None]
    assert sandboxed and all(step.name == "exec" for step in sandboxed)
    assert run.cpu_seconds > 0 and run.wall_seconds > 0
    assert run.cpu_seconds == pytest.approx(sum(step.cpu_seconds or 0.0 for step in sandboxed))
    assert run.wall_seconds == pytest.approx(sum(step.duration or 0.0 for step in sandboxed))
    assert run.cpu_seconds < run.wall_seconds + 1  # one CPU per sandbox: CPU cannot outrun the clock by much
    cost = format_cost(run)
    assert "0.00s cpu" not in cost and "0.00s wall" not in cost
    listed = steward(tmp_path, "runs", "list")
    shown = steward(tmp_path, "runs", "show", run_id)
    assert listed.returncode == 0 and cost in listed.stdout, listed.stdout
    assert shown.returncode == 0 and cost in shown.stdout, shown.stdout
    assert f"cpu {sandboxed[0].cpu_seconds:.2f}s" in shown.stdout
    assert cost in status
