"""The workspace's disk budget (real Docker, real git): writes past `limits.disk` stop and are named."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import anyio
import docker
import pytest

from sandbox import diskwatch, neutral, quota
from sandbox import git as hostgit
from sandbox.base import CommandResult, SandboxError
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


async def clone_with_quota(tmp_path: Path, run_id: str, disk: int | None = QUOTA) -> hostgit.Workspace:
    """A real clone into a data dir shaped like the worker's (home, data dir, run id all in the path)."""
    bare, commit = make_remote(tmp_path)
    root = tmp_path / ".local" / "share" / "steward" / "workspaces" / run_id
    root.parent.mkdir(parents=True)
    branch = hostgit.branch_name("docs", 7)
    return await hostgit.clone(bare.as_uri(), commit, root=root, branch=branch, ref="main", disk=disk)


def host_secrets(tmp_path: Path, run_id: str) -> tuple[str, ...]:
    """What the sandbox must not learn: the data dir, the run id, the home directory."""
    return (str(tmp_path), run_id, ".local/share/steward", "workspaces/", f"{Path.home()}/")


def backing_file(work_tree: Path) -> str:
    """What the host's sysfs says the quota's loop device reads from."""
    dev = os.stat(work_tree).st_dev
    return Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}/loop/backing_file").read_text().strip()


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
    for secret in host_secrets(tmp_path, run_id):
        assert secret not in result.output


@needs_mount
@pytest.mark.docker
async def test_no_loop_device_names_a_quota_image_by_its_host_path(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
) -> None:
    run_id = f"test-sysfs-{uuid.uuid4().hex[:8]}"
    ws = await clone_with_quota(tmp_path, run_id)
    (tmp_path / "other").mkdir()
    try:
        other = await clone_with_quota(tmp_path / "other", f"{run_id}-b")  # another run's image, mounted too
    except BaseException:
        hostgit.remove(ws)
        raise
    look = (
        "find /sys -name backing_file 2>/dev/null; cat /sys/block/loop*/loop/backing_file 2>/dev/null;"
        "ls -A /sys/block /sys/class/block /sys/dev/block /sys/devices/virtual/block;"
        "touch /sys/block/x 2>&1; touch /sys/kernel/x 2>&1; true"
    )
    try:
        assert quota.mounted(ws.work_tree) and quota.mounted(other.work_tree)
        for work_tree in (ws.work_tree, other.work_tree):  # at the source: the host's own sysfs
            assert backing_file(work_tree) == f"/{quota.IMAGE_NAME}"
        async with DockerSandbox(
            ws.work_tree, LIMITS, run_id=run_id, image=sandbox_image, client=docker_client
        ) as sb:
            shown = (await sb.run(look)).output
    finally:
        hostgit.remove(ws)
        hostgit.remove(other)
    assert "backing_file" not in shown and quota.IMAGE_NAME not in shown and "loop" not in shown
    assert shown.count("Read-only file system") == 2  # masked, and the rest of /sys stays read-only
    for secret in host_secrets(tmp_path, run_id):
        assert secret not in shown


@pytest.mark.docker
@pytest.mark.parametrize("disk", [None, 4096], ids=["no-quota", "quota-refused"])
async def test_without_a_quota_mount_mountinfo_names_no_host_path(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
    disk: int | None,
) -> None:
    # 4 KiB is too small for mkfs.ext4: quota.mount() returns False, as it does without root or a loop device
    run_id = f"test-plain-{uuid.uuid4().hex[:8]}"
    ws = await clone_with_quota(tmp_path, run_id, disk=disk)
    holder = neutral.holder(ws.root / "work")
    try:
        assert not quota.mounted(ws.work_tree) and holder is not None
        assert ws.work_tree == holder / neutral.WORK and not ws.work_tree.is_symlink()
        async with DockerSandbox(
            ws.work_tree, LIMITS, run_id=run_id, image=sandbox_image, client=docker_client
        ) as sb:
            result = await sb.run("cat /proc/self/mountinfo; echo note > note.txt")
            assert await sb.read_file("README.md") == (ws.work_tree / "README.md").read_bytes()
        assert (ws.root / "work" / "note.txt").read_text() == "note\n"  # the host's own path still works
    finally:
        hostgit.remove(ws)
    assert result.ok
    line = next(line for line in result.output.splitlines() if " /workspace " in line)
    assert line.split()[3].endswith(f"/{holder.name}/{neutral.WORK}")  # its path within its filesystem
    for secret in host_secrets(tmp_path, run_id):
        assert secret not in result.output
    assert not ws.root.exists() and not holder.exists()  # removing the run removes its neutral work tree


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


async def test_the_watchdog_stops_at_the_budget_and_lets_a_failure_through_as_itself(tmp_path: Path) -> None:
    stops: list[float] = []

    async def stop() -> None:
        stops.append(time.monotonic())

    async def writer() -> str:
        for i in range(200):  # 200 x 1 MiB over at most 10 s: the budget (8 MiB) comes first
            (tmp_path / f"f{i}").write_bytes(b"x" * 1024**2)
            if stops:
                return "stopped"
            await anyio.sleep(0.05)
        return "finished"

    result, struck = await diskwatch.guard(tmp_path, 8 * 1024**2, writer, stop)
    assert (result, struck) == ("stopped", True) and len(stops) == 1
    assert diskwatch.usage(tmp_path, 10**12) < 100 * 1024**2

    async def broken() -> str:
        raise SandboxError("the sandbox stopped working")

    with pytest.raises(SandboxError, match="stopped working"):  # not an ExceptionGroup
        await diskwatch.guard(tmp_path / "empty", 8 * 1024**2, broken, stop)


def test_usage_counts_every_file_and_never_follows_links(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 100_000)
    for i in range(10):
        (tmp_path / f"empty{i}").touch()
    (tmp_path / "link").symlink_to("/usr")
    used = diskwatch.usage(tmp_path, 10**12)
    assert 100_000 + 10 * diskwatch.BLOCK <= used < 100_000 + 12 * diskwatch.BLOCK + 8192


SWAPPER = """import os, sys
real, moved = sys.argv[1] + "/a", sys.argv[1] + "/a.real"
while True:
    os.rename(real, moved)
    os.symlink("/usr", real)
    os.unlink(real)
    os.rename(moved, real)
"""


def test_a_directory_swapped_for_a_link_to_a_host_directory_is_not_walked(tmp_path: Path) -> None:
    """While the walk runs the sandbox flips `a` between a directory and a link to /usr (gigabytes)."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f").write_bytes(b"x" * 1000)
    budget = 64 * 1024**2
    swapper = subprocess.Popen([sys.executable, "-c", SWAPPER, str(tmp_path)])
    seen, calls, deadline = 0, 0, time.monotonic() + 4
    try:
        while time.monotonic() < deadline and seen <= budget:
            seen = max(seen, diskwatch.usage(tmp_path, budget))
            calls += 1
    finally:
        swapper.kill()
        swapper.wait()
    assert swapper.returncode == -9, "the swapper stopped by itself: the race did not run"
    assert calls > 100
    assert seen < 64 * 1024, f"the walk counted {seen} bytes: it followed the link into /usr"


def test_a_tree_deeper_than_a_work_tree_may_be_counts_as_full(tmp_path: Path) -> None:
    """One descriptor a level stays bounded; deeper nesting is refused after the command anyway."""
    deep = tmp_path.joinpath(*["d"] * (diskwatch.MAX_DEPTH + 2))
    deep.mkdir(parents=True)
    assert diskwatch.usage(tmp_path, 10**12) > 10**12
    assert diskwatch.usage(tmp_path.joinpath(*["d"] * 3), 10**12) < 10**12


@needs_mount
async def test_a_checkout_bigger_than_the_quota_fails_the_clone_naming_the_limit(tmp_path: Path) -> None:
    seed, bare = tmp_path / "seed", tmp_path / "big.git"
    seed.mkdir()
    (seed / "blob.bin").write_bytes(os.urandom(24 * 1024**2))  # incompressible: 24 MiB in a 16 MiB quota
    sh = ("-c", "user.name=t", "-c", "user.email=t@e")
    for argv in (
        ["git", "init", "-q", "-b", "main", str(seed)],
        ["git", "-C", str(seed), "add", "-A"],
        ["git", "-C", str(seed), *sh, "commit", "-q", "-m", "big"],
        ["git", "clone", "-q", "--bare", str(seed), str(bare)],
    ):
        subprocess.run(argv, check=True, capture_output=True)
    commit = subprocess.run(
        ["git", "-C", str(seed), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    root = tmp_path / "ws" / "r-big"
    try:
        with pytest.raises(hostgit.GitError, match=r"does not fit .* \(16 MiB\).*limits\.disk"):
            await hostgit.clone(bare.as_uri(), commit, root=root, branch="b", disk=16 * 1024**2)
    finally:
        hostgit.remove(root)
    assert not root.exists()
