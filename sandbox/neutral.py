"""Where a work tree without a quota filesystem lives: a directory whose path reveals nothing of the host.

Docker binds the work tree's own directory, and the sandbox's /proc/self/mountinfo shows that directory's path
within its filesystem (a bind keeps the directory, so a link or a bind of a bind shows the same path). Without
a quota mount the work tree therefore lives at `/var/tmp/steward-<random>/work`: no data dir, no run id, no
home directory. The run root keeps `work` as a link to it, which only the host reads (the sandbox sees neither
the run root nor the link), so removing the run root, or the reaper, finds and removes it too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ROOTS = (Path("/var/tmp"), Path("/tmp"))  # noqa: S108 (private directories made by mkdtemp)
"""Disk-backed first; never $TMPDIR, which may lie in the home directory."""
PREFIX = "steward-"
WORK = "work"


def base() -> Path:
    """The first neutral root this process may create directories in."""
    for root in ROOTS:
        if root.is_dir() and os.access(root, os.W_OK | os.X_OK):
            return root
    raise OSError(f"none of {', '.join(map(str, ROOTS))} is writable: nowhere to keep the work tree")


def place(link: Path) -> Path:
    """A fresh, empty work tree under a neutral root, linked from `link` (the run root); its real path."""
    holder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base()))  # 0700: no other local user may enter
    real = holder / WORK
    try:
        real.mkdir()
        link.symlink_to(real, target_is_directory=True)
    except OSError:
        shutil.rmtree(holder, ignore_errors=True)
        raise
    return real


def holder(link: Path) -> Path | None:
    """The neutral directory `link` leads to, when it is one `place` made and this process owns."""
    try:
        target = Path(os.readlink(link))
    except OSError:
        return None  # no link (a quota mount, or nothing yet)
    found = target.parent
    if target.name != WORK or found.parent not in ROOTS or not found.name.startswith(PREFIX):
        return None
    try:
        if os.lstat(found).st_uid != os.geteuid() or found.is_symlink():
            return None  # someone else's name in a shared /var/tmp: never delete it
    except OSError:
        return None
    return found


def discard(link: Path) -> None:
    """Delete the neutral work tree `link` leads to (the link itself goes with the run root)."""
    found = holder(link)
    if found is not None:
        shutil.rmtree(found, ignore_errors=True)
