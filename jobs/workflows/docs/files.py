"""The workspace files the docs engine may read and write: tracked, inside the policy, never through links."""

from __future__ import annotations

import subprocess
from pathlib import Path

from policies.loader import path_allowed
from policies.model import Policy
from sandbox import hostfs
from sandbox.git import host_git
from sandbox.hostfs import TooLarge, UnsafePath

__all__ = [
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "UnsafePath",
    "read_text",
    "tracked_files",
    "writable_files",
    "write_text",
]

MAX_FILE_BYTES = 1024 * 1024
"""Larger files are not documentation the engine edits."""
MAX_FILES = 5000
GIT_SECONDS = 60


class TrackedFilesError(UnsafePath):
    """Git could not list the checkout's files."""


def tracked_files(workspace: Path, git_dir: Path | None = None) -> list[str]:
    """Repository paths in git's index (named explicitly, never discovered), or the regular files without one.

    Discovery would find an enclosing repository when the data directory sits in a work tree, or a `.git`
    the sandbox planted in the workspace.
    """
    if git_dir is None:
        return sorted(hostfs.regular_files(workspace, MAX_FILES))
    argv, env = host_git(git_dir, workspace, "ls-files", "-z")
    try:
        done = subprocess.run(argv, env=env, capture_output=True, timeout=GIT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise TrackedFilesError(f"git ls-files took longer than {GIT_SECONDS} s") from None
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip()[-500:]
        raise TrackedFilesError(f"git ls-files failed ({done.returncode}): {err}")
    paths = [p for p in done.stdout.decode(errors="replace").split("\0") if p]
    return sorted(paths)[:MAX_FILES]


def writable_files(workspace: Path, policy: Policy, git_dir: Path | None = None) -> list[str]:
    """Tracked files the policy lets the run change."""
    return [path for path in tracked_files(workspace, git_dir) if path_allowed(policy, path)]


def read_text(workspace: Path, relative: str) -> str | None:
    """A file's text; None when it is absent, too big or not UTF-8 (not documentation the engine edits).

    Raises UnsafePath when the path passes through a link or names something that is not a regular file.
    """
    try:
        data = hostfs.read_bytes(workspace, relative, MAX_FILE_BYTES)
    except (FileNotFoundError, TooLarge):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def write_text(workspace: Path, relative: str, text: str) -> None:
    """Replace a file inside the workspace atomically (never through a link)."""
    hostfs.write_bytes(workspace, relative, text.encode("utf-8"))
