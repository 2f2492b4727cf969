"""A run's host workspace: its owner (so the reaper tells a live run's from a crashed one's), and removal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sandbox import neutral, quota
from sandbox.labels import run_labels

OWNER_FILE = "owner.json"
"""Beside the git directory and the work tree, out of the sandbox's reach."""
MAX_OWNER_BYTES = 4096
WORK = "work"


def make_work_tree(root: Path, disk: int | None) -> Path:
    """root/work: a quota filesystem where there is a quota and the host can mount one, else a neutral dir.

    Either way the sandbox's view of its mount names no host path (see sandbox/quota.py, sandbox/neutral.py);
    the path returned is a real directory, so no host-side access passes through a link.
    """
    link = root / WORK
    if disk is not None:
        link.mkdir()
        if quota.mount(link, disk):
            return link
        link.rmdir()
    return neutral.place(link)


def claim(root: Path) -> None:
    """Record this process (host, pid, pid start time) as the workspace's owner."""
    (root / OWNER_FILE).write_text(json.dumps(run_labels(root.name)))


def owner(root: Path) -> dict[str, str] | None:
    """The owner's labels; None when the file is missing or unreadable (then only its age counts)."""
    path = root / OWNER_FILE
    try:
        if path.is_symlink() or path.stat().st_size > MAX_OWNER_BYTES:
            return None
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    return {str(key): str(value) for key, value in data.items()}


def discard(root: Path) -> None:
    """Unmount the work tree's quota filesystem, then delete the workspace whatever the sandbox left in it."""
    quota.unmount(root / WORK)
    neutral.discard(root / WORK)
    shutil.rmtree(root, ignore_errors=True)
