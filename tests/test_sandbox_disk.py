"""The workspace's disk budget (real Docker, real git): writes past `limits.disk` stop and are named."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import docker
import pytest

from sandbox import git as hostgit
from sandbox import quota
from sandbox.base import CommandResult
from sandbox.docker_sandbox import DockerSandbox
from sandbox.explain import explain
from sandbox.judge import out_of_disk
from sandbox.limits import Limits
from tests.sandbox_fixtures import docker_client, sandbox_dir, sandbox_image  # noqa: F401
from tests.test_git_workspace import make_remote

pytestmark = pytest.mark.anyio

QUOTA = 32 * 1024**2
LIMITS = Limits(memory="256m", pids=64, command_timeout=20, run_timeout=300, disk=QUOTA)
needs_mount = pytest.mark.skipif(not quota.can_mount(), reason="quota mounts need root, a loop device, mkfs")


def allocated(path: Path) -> int:
    return os.stat(path).st_blocks * 512


async def clone_with_quota(tmp_path: Path, run_id: str) -> hostgit.Workspace:
    """A real clone into a data dir shaped like the worker's (home, data dir, run id all in the path)."""
    bare, commit = make_remote(tmp_path)
    root = tmp_path / ".local" / "share" / "steward" / "workspaces" / run_id
    root.parent.mkdir(parents=True)
    branch = hostgit.branch_name("docs", 7)
    return await hostgit.clone(bare.as_uri(), commit, root=root, branch=branch, ref="main", disk=QUOTA)


@needs_mount
@pytest.mark.docker
async def test_writing_past_the_quota_is_refused_named_and_the_host_keeps_its_disk(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
) -> None:
    run_id = f"test-disk-{uuid.uuid4().hex[:8]}"
    ws = await clone_with_quota(tmp_path, run_id)
    try:
        assert quota.mounted(ws.work_tree) and (ws.work_tree / "README.md").is_file()
        async with DockerSandbox(
            ws.work_tree, LIMITS, run_id=run_id, image=sandbox_image, client=docker_client
        ) as sb:
            result = await sb.run("dd if=/dev/zero of=big bs=1M count=2048 | tail -1", timeout=15)
            assert result.killed_by == "disk" and not result.ok
            assert "32 MiB" in result.explanation and "limits.disk" in result.explanation
            assert result.duration < 10
            image = ws.root / quota.IMAGE_NAME
            assert allocated(image) <= QUOTA + 1024**2  # the host paid for the quota, not for 2 GiB
            assert (await sb.run("rm big && echo alive")).output == "alive\n"
            small = await sb.run("echo note > note.txt && cat note.txt")
            assert small.ok and small.killed_by is None  # room again once the file is gone
    finally:
        hostgit.remove(ws)
    assert not ws.root.exists()
    assert not os.path.ismount(ws.work_tree)


@needs_mount
@pytest.mark.docker
async def test_mountinfo_inside_names_no_host_path(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
) -> None:
    run_id = f"test-paths-{uuid.uuid4().hex[:8]}"
    ws = await clone_with_quota(tmp_path, run_id)
    try:
        async with DockerSandbox(
            ws.work_tree, LIMITS, run_id=run_id, image=sandbox_image, client=docker_client
        ) as sb:
            result = await sb.run(["cat", "/proc/self/mountinfo"])
    finally:
        hostgit.remove(ws)
    assert result.ok
    workspace_line = next(line for line in result.output.splitlines() if " /workspace " in line)
    assert workspace_line.split()[3] == "/"  # the mount's root within its filesystem: nothing of the host
    for secret in (str(tmp_path), run_id, ".local/share/steward", f"{Path.home()}/"):
        assert secret not in result.output


@pytest.mark.docker
async def test_without_a_quota_mount_the_watchdog_stops_the_writer(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
) -> None:
    workspace = sandbox_dir(tmp_path / "plain")
    assert not quota.mounted(workspace)
    writer = "i=0; while [ $i -lt 400 ]; do head -c 1048576 /dev/zero > f$i; i=$((i+1)); done; sleep 60"
    async with DockerSandbox(
        workspace,
        LIMITS,
        run_id=f"test-watch-{uuid.uuid4().hex[:8]}",
        image=sandbox_image,
        client=docker_client,
    ) as sb:
        result = await sb.run(writer, timeout=15)
        assert result.killed_by == "disk"
        assert "limits.disk" in result.explanation
        assert result.duration < 10  # stopped by the budget, not by the 15 s timeout
        written = sum(p.stat().st_size for p in workspace.iterdir())
        assert QUOTA < written < 400 * 1024**2
        assert (await sb.run("sleep 5")).killed_by == "disk"  # still over budget: nothing more runs
        for path in workspace.iterdir():
            path.unlink()
        assert (await sb.run("echo alive")).output == "alive\n"


def test_enospc_is_the_disk_unless_the_kernel_counted_memory_or_processes() -> None:
    full = CommandResult(1, "cp: error writing 'x': No space left on device\n", 0.1)
    assert out_of_disk(full, quota_full=False)
    assert out_of_disk(CommandResult(1, "", 0.1), quota_full=True)
    assert out_of_disk(CommandResult(1, "", 0.1, "output"), quota_full=True)
    assert out_of_disk(CommandResult(0, "", 0.1), quota_full=True)  # `dd ... | tail` exits 0
    assert not out_of_disk(CommandResult(0, "No space left on device", 0.1), quota_full=False)
    assert not out_of_disk(CommandResult(137, "", 0.1, "memory"), quota_full=True)
    assert not out_of_disk(CommandResult(1, "error", 0.1), quota_full=False)
    text = explain("disk", Limits(disk="512m"), timeout=1)
    assert "512 MiB" in text and "limits.disk" in text and "256 MiB" in text


def test_disk_limit_reads_sizes_and_refuses_a_useless_quota() -> None:
    assert Limits(disk="512m").disk == 512 * 1024**2
    with pytest.raises(ValueError, match="greater than or equal"):
        Limits(disk="1k")
