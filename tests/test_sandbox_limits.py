"""The kernel enforces each limit, and the result names the limit that struck (real Docker, one container):
on the machine's daemon (the workspace bind-mounted) and on a remote one (tests/remote_fixtures.py, the
workspace through the Docker API), which must say the same."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from sandbox import container
from sandbox.base import SandboxError
from sandbox.docker_sandbox import DockerSandbox
from sandbox.limits import Limits
from tests.remote_fixtures import remote_docker  # noqa: F401
from tests.sandbox_fixtures import docker_client, sandbox_dir, sandbox_image, started_sandbox  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

LIMITS = Limits(memory="128m", cpus=1, pids=64, command_timeout=20, run_timeout=600, output_bytes=64 * 1024)


@pytest.fixture(scope="module", params=["local", pytest.param("remote", marks=pytest.mark.remote_docker)])
def daemon(request: pytest.FixtureRequest, docker_client: docker.DockerClient) -> docker.DockerClient:  # noqa: F811
    """The daemon the shared sandbox runs on."""
    if request.param == "local":
        return docker_client
    return request.getfixturevalue("remote_docker").client


@pytest.fixture(scope="module")
def shared(
    sandbox_image: str,  # noqa: F811
    daemon: docker.DockerClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DockerSandbox]:
    """One container per daemon: a limit that kills a command must leave the sandbox usable."""
    ws = tmp_path_factory.mktemp("limits") / "ws"
    local = daemon.api.base_url.startswith("http+docker://")  # docker-py's name for a unix socket
    yield from started_sandbox(ws, LIMITS, sandbox_image, daemon, "limits", None if local else "archive")


async def test_memory_hog_is_killed_and_reported_as_memory(shared: DockerSandbox) -> None:
    hog = "chunks = []\nwhile True:\n    chunks.append(b'x' * (8 * 1024 * 1024))"
    result = await shared.run(["python3", "-c", hog])
    assert result.killed_by == "memory"
    assert result.exit_code == 137
    assert "out of memory" in result.explanation and "128 MiB" in result.explanation
    assert (await shared.run("echo alive")).output == "alive\n"


async def test_fork_bomb_is_contained_and_reported(shared: DockerSandbox) -> None:
    result = await shared.run(
        "bomb() { bomb | bomb & }; bomb; sleep 30", timeout=4, output_bytes=10 * 1024**2
    )
    assert result.killed_by == "processes"
    assert "64 processes" in result.explanation
    after = await shared.run("echo alive; ls /proc | grep -c '^[0-9]'")
    assert after.ok
    lines = after.output.split()
    assert lines[0] == "alive" and int(lines[1]) < 10  # the bomb's processes are all gone


async def test_sleep_is_killed_at_the_timeout(shared: DockerSandbox) -> None:
    result = await shared.run(["sleep", "600"], timeout=1.5)
    assert result.killed_by == "time"
    assert 1.4 < result.duration < 5
    assert "1.5 seconds" in result.explanation
    procs = await shared.run("ls /proc | grep -c '^[0-9]'")
    assert int(procs.output) < 10


async def test_flood_of_output_is_cut_at_the_cap(shared: DockerSandbox) -> None:
    result = await shared.run(["yes", "flood"], output_bytes=10_000)
    assert result.killed_by == "output"
    assert len(result.output.encode()) == 10_000
    assert result.output.startswith("flood\nflood\n")
    assert "10000 bytes" in result.explanation


async def test_ordinary_failure_is_not_blamed_on_a_limit(shared: DockerSandbox) -> None:
    result = await shared.run("echo some output; exit 3")
    assert (result.exit_code, result.killed_by, result.output) == (3, None, "some output\n")


@pytest.mark.parametrize("target", ["/steward-was-here", "/etc/steward-was-here", "/usr/steward-was-here"])
async def test_writing_outside_the_workspace_fails(shared: DockerSandbox, target: str) -> None:
    result = await shared.run(["touch", target])
    assert result.exit_code != 0
    assert "Read-only file system" in result.output


async def test_workspace_and_tmpfs_are_writable_and_owned_by_the_sandbox_user(shared: DockerSandbox) -> None:
    result = await shared.run("id -u; echo data > /workspace/made.txt && echo tmp > /tmp/t && cat /tmp/t")
    assert result.output.split() == ["1000", "tmp"]
    made = shared.workspace / "made.txt"
    assert made.read_text() == "data\n"
    if shared.transfer == "bind":  # through the API, the host's copy is the worker's own file
        assert made.stat().st_uid == 1000
    assert await shared.read_file("made.txt") == b"data\n"


async def test_no_capabilities_and_no_new_privileges(shared: DockerSandbox) -> None:
    status = (await shared.run(["cat", "/proc/self/status"])).output
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["CapEff"].strip() == "0000000000000000"
    assert fields["CapBnd"].strip() == "0000000000000000"
    assert fields["NoNewPrivs"].strip() == "1"


async def test_container_carries_every_limit(shared: DockerSandbox, daemon: docker.DockerClient) -> None:
    assert shared.container_id is not None
    attrs = daemon.api.inspect_container(shared.container_id)
    host = attrs["HostConfig"]
    assert host["Memory"] == host["MemorySwap"] == 128 * 1024**2
    assert host["NanoCpus"] == 1_000_000_000
    assert host["PidsLimit"] == 64
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["NetworkMode"] == "none"
    assert set(host["Tmpfs"]) == {"/tmp", "/home/steward", *container.MASKED_SYS}  # block devices masked
    assert attrs["Config"]["Labels"]["steward.run"] == shared.run_id
    assert attrs["Config"]["Labels"]["app"] == "steward"


async def test_read_file_refuses_a_symlink_out_of_the_workspace(shared: DockerSandbox) -> None:
    await shared.run(["ln", "-sf", "/etc/hostname", "/workspace/escape"])
    await shared.run(["sh", "-c", "ln -sfn /etc /workspace/dir-escape"])
    refused = r"symbolic link|not allowed|absolute"
    if shared.transfer == "archive":  # a link out of the workspace is never made on the host at all
        refused += "|no such file"
    for path in ("escape", "dir-escape/hostname", "../ws/escape", "/etc/hostname"):
        with pytest.raises(SandboxError, match=refused):
            await shared.read_file(path)


async def test_run_budget_is_shared_by_all_commands(
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
    tmp_path: Path,
) -> None:
    limits = LIMITS.model_copy(update={"run_timeout": 2.0})
    async with DockerSandbox(
        sandbox_dir(tmp_path / "ws"), limits, run_id=f"test-budget-{uuid.uuid4().hex[:8]}",
        image=sandbox_image, client=docker_client,
    ) as sandbox:  # fmt: skip
        first = await sandbox.run(["sleep", "30"])
        second = await sandbox.run(["true"])
    assert first.killed_by == "time" and first.duration < 4
    assert second.killed_by == "time" and "whole run" not in second.explanation
    assert "2 seconds" in second.explanation
