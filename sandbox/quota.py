"""The workspace disk quota: a size-limited filesystem of its own, mounted on the work tree before the clone.

A sparse ext4 image, loop-mounted, rather than a tmpfs: tmpfs pages are charged to the memory cgroup of the
process that writes them, so a sandbox filling a tmpfs workspace is killed for memory (and the pages stay in
RAM); an image file fails the write with ENOSPC at the quota and costs the host only what was written. Its
root is the work tree, so the sandbox's /proc/self/mountinfo shows `/` and a loop device, never a host path.

The loop device names its backing file in sysfs (`/sys/block/loopN/loop/backing_file`, readable by anyone),
as the path the file was opened by. So the image is opened through a private bind mount of its directory
that is detached at once: the kernel then names it relative to that mount, `/disk.img`, whoever reads it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from sandbox.image import SANDBOX_UID

log = logging.getLogger(__name__)

IMAGE_NAME = "disk.img"
"""Beside the work tree (never inside it, so the sandbox cannot reach the image file)."""
COMMAND_SECONDS = 30.0
FULL_MARGIN = 1024**2
"""Free space below which the filesystem counts as full (ext4 keeps a few blocks it never hands out)."""
MKFS = (
    "mkfs.ext4", "-q", "-F",
    "-m", "0",  # no blocks reserved for root: the quota is what the sandbox gets
    "-O", "^has_journal",  # a scratch filesystem: nothing to recover after a crash
    "-E", f"lazy_itable_init=1,root_owner={SANDBOX_UID}:{SANDBOX_UID}",
)  # fmt: skip


def _run(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        argv, capture_output=True, timeout=COMMAND_SECONDS, check=False, env={"PATH": _PATH}
    )


_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def can_mount() -> bool:
    """Root, a loop device and mkfs.ext4: what a quota mount needs."""
    return (
        os.geteuid() == 0
        and Path("/dev/loop-control").exists()
        and shutil.which("mkfs.ext4", path=_PATH) is not None
    )


def mount(work_tree: Path, size: int) -> bool:
    """Mount a fresh filesystem of `size` bytes on the (empty) work tree; False where this host cannot."""
    if not can_mount():
        return False
    image = work_tree.parent / IMAGE_NAME
    try:
        with image.open("wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.truncate(size)  # sparse: the host pays only for what is written
        made = _run([*MKFS, str(image)])
        if made.returncode != 0:
            raise OSError(made.stderr.decode(errors="replace").strip())
        _loop_mount(image, work_tree)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning(
            "no disk quota for %s (%s); the watchdog will enforce it instead", work_tree.parent.name, exc
        )
        image.unlink(missing_ok=True)
        return False
    with contextlib.suppress(OSError):
        (work_tree / "lost+found").rmdir()  # not part of any checkout
    return True


def _loop_mount(image: Path, work_tree: Path) -> None:
    """Mount the image on the work tree, opened through a detached bind so that no host path names it."""
    hidden = tempfile.mkdtemp(prefix="steward-quota-")
    try:
        bound = _run(["mount", "--bind", "--make-private", str(image.parent), hidden])
        if bound.returncode != 0:
            raise OSError(bound.stderr.decode(errors="replace").strip())
        try:  # `-o loop` sets autoclear: the loop device goes with the last unmount of the work tree
            options = "loop,nosuid,nodev,noatime"
            mounted = _run(["mount", "-o", options, str(Path(hidden) / image.name), str(work_tree)])
            if mounted.returncode != 0:
                raise OSError(mounted.stderr.decode(errors="replace").strip())
        finally:  # lazily: the loop device keeps the image open; the bind lives on, reachable by no path
            _run(["umount", "-l", hidden])
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(hidden)  # never a recursive delete: were the bind still there, it is the run's root


def unmount(work_tree: Path) -> None:
    """Unmount the quota filesystem if there is one (lazily when something still holds it)."""
    if not os.path.ismount(work_tree):
        return
    if _run(["umount", str(work_tree)]).returncode != 0:
        done = _run(["umount", "-l", str(work_tree)])
        if done.returncode != 0:
            log.warning("could not unmount %s: %s", work_tree, done.stderr.decode(errors="replace").strip())


def mounted(work_tree: Path) -> bool:
    """Whether the work tree has a quota filesystem of its own."""
    return os.path.ismount(work_tree)


def full(work_tree: Path) -> bool:
    """The quota filesystem has (almost) no space or no inodes left."""
    try:
        stat = os.statvfs(work_tree)
    except OSError:
        return False
    return stat.f_bavail * stat.f_frsize < FULL_MARGIN or stat.f_favail == 0


def checkout_too_big(size: int) -> str:
    """What to do when the repository alone fills the quota."""
    return (
        f"the checkout does not fit in the workspace's disk quota ({size // 1024**2} MiB): raise "
        "`limits.disk` in .github/steward.yml within the workflow's policy"
    )
