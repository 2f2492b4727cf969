"""A checkout's file list from git's index, the repository named explicitly (never discovered).

Discovery would find an enclosing repository when the data directory sits in a work tree, or a `.git` the
sandbox planted in the workspace. Without a repository, the regular files count (no link followed).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from sandbox import hostfs
from sandbox.git import host_git
from sandbox.hostfs import UnsafePath

MAX_FILES = 20000
GIT_SECONDS = 60


class TrackedFilesError(UnsafePath):
    """Git could not list the checkout's files."""


def tracked_files(
    workspace: Path, git_dir: Path | None, limit: int = MAX_FILES, *, untracked: bool = False
) -> list[str]:
    """Sorted repository paths in git's index, at most `limit`; with `untracked`, the new files git would
    add as well (not the ignored ones). git lists names, never reading a file nor following a link."""
    if git_dir is None:
        return sorted(hostfs.regular_files(workspace, limit))
    extra = ("--cached", "--others", "--exclude-standard") if untracked else ()
    argv, env = host_git(git_dir, workspace, "ls-files", "-z", *extra)
    try:
        done = subprocess.run(argv, env=env, capture_output=True, timeout=GIT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise TrackedFilesError(f"git ls-files took longer than {GIT_SECONDS} s") from None
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip()[-500:]
        raise TrackedFilesError(f"git ls-files failed ({done.returncode}): {err}")
    paths = {p for p in done.stdout.decode(errors="replace").split("\0") if p}
    return sorted(paths)[:limit]
