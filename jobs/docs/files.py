"""The workspace files the docs engine may read and write: tracked, inside the policy, never through links."""

from __future__ import annotations

import subprocess
from pathlib import Path

from policies.loader import path_allowed
from policies.model import Policy

MAX_FILE_BYTES = 1024 * 1024
"""Larger files are not documentation the engine edits."""
MAX_FILES = 5000


class UnsafePath(ValueError):
    """The path leaves the workspace or passes through a symbolic link."""


def safe_path(workspace: Path, relative: str) -> Path:
    """The file for a repository path, refusing anything that escapes the workspace or follows a link."""
    root = workspace.resolve()
    target = root / relative
    current = root
    for part in Path(relative).parts:
        current = current / part
        if current.is_symlink():
            raise UnsafePath(f"{relative}: passes through a symbolic link")
    if not target.resolve().is_relative_to(root):
        raise UnsafePath(f"{relative}: outside the workspace")
    return target


def tracked_files(workspace: Path) -> list[str]:
    """Repository paths of the checkout (git's index), or every regular file when it is not a git checkout."""
    done = subprocess.run(
        ["git", "-C", str(workspace), "ls-files", "-z"], capture_output=True, timeout=60, check=False
    )
    if done.returncode == 0:
        paths = [p for p in done.stdout.decode(errors="replace").split("\0") if p]
    else:
        root = workspace.resolve()
        paths = [
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and not p.is_symlink() and ".git" not in p.relative_to(root).parts
        ]
    return sorted(paths)[:MAX_FILES]


def writable_files(workspace: Path, policy: Policy) -> list[str]:
    """Tracked files the policy lets the run change."""
    return [path for path in tracked_files(workspace) if path_allowed(policy, path)]


def read_text(workspace: Path, relative: str) -> str | None:
    """A file's text; None when it is absent, binary, too big or unsafe to touch."""
    try:
        path = safe_path(workspace, relative)
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_bytes().decode("utf-8")
    except (UnsafePath, OSError, UnicodeDecodeError):
        return None


def write_text(workspace: Path, relative: str, text: str) -> None:
    """Write a file inside the workspace (never through a link)."""
    path = safe_path(workspace, relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
