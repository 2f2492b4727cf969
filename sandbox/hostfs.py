"""Host-side access to a workspace: every path walked from a directory descriptor, never through a link.

The sandbox controls every name below the workspace root, so each component is opened with O_NOFOLLOW
relative to the descriptor of its parent; `..`, `.`, empty and absolute paths are refused before any open.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sandbox.base import SandboxError

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # a FIFO must not block the host
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafePath(SandboxError, ValueError):
    """The path leaves the workspace, passes through a link, or names something that is not a plain file."""


class TooLarge(UnsafePath):
    """The file is larger than the caller is willing to read."""


def parts_of(relative: str) -> list[str]:
    """The components of a repository path; refuses absolute, `..`, `.`, empty and NUL-carrying paths."""
    if not relative or "\0" in relative:
        raise UnsafePath(f"{relative!r}: not a repository path")
    if relative.startswith("/"):
        raise UnsafePath(f"{relative}: an absolute path, not a path inside the workspace")
    parts = relative.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise UnsafePath(f"{relative}: `{part or '//'}` is not allowed in a workspace path")
    return parts


@contextlib.contextmanager
def _parent(root: Path, relative: str, *, create: bool = False) -> Iterator[tuple[int, str]]:
    """The descriptor of the path's parent directory and the final name; makes parents when asked."""
    parts = parts_of(relative)
    fd = os.open(root, _DIR_FLAGS)
    try:
        for name in parts[:-1]:
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(name, 0o755, dir_fd=fd)
                _own_like_parent(fd, name)
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # O_NOFOLLOW|O_DIRECTORY on a link: ENOTDIR
                    why = f"`{name}` is a symbolic link or not a directory; the host never follows one"
                    raise UnsafePath(f"{relative}: {why}") from None
                raise
            os.close(fd)
            fd = child
        yield fd, parts[-1]
    finally:
        os.close(fd)


def _own_like_parent(dir_fd: int, name: str) -> None:
    """What the host makes belongs to whoever owns the directory (the sandbox user), as a checkout would."""
    if os.geteuid() == 0:
        owner = os.fstat(dir_fd)
        os.chown(name, owner.st_uid, owner.st_gid, dir_fd=dir_fd, follow_symlinks=False)


def _open_file(relative: str, dir_fd: int, name: str) -> int:
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath(f"{relative}: is a symbolic link; the host never follows one") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafePath(f"{relative}: not a regular file")
    return fd


def read_bytes(root: Path, relative: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """A regular file's bytes, at most max_bytes (TooLarge beyond); FileNotFoundError when it is absent."""
    with _parent(root, relative) as (dir_fd, name):
        fd = _open_file(relative, dir_fd, name)
    with os.fdopen(fd, "rb") as file:
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(f"{relative}: larger than {max_bytes} bytes")
    return data


def lstat(root: Path, relative: str) -> os.stat_result | None:
    """The entry's own status (a link is not followed); None when it is absent."""
    try:
        with _parent(root, relative) as (dir_fd, name):
            return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def is_file(root: Path, relative: str) -> bool:
    """A regular file reached without a link (a link, a directory or a FIFO is not)."""
    found = lstat(root, relative)
    return found is not None and stat.S_ISREG(found.st_mode)


def write_bytes(root: Path, relative: str, data: bytes) -> None:
    """Replace (or create) a regular file atomically: write a temp name beside it, then rename over it."""
    with _parent(root, relative, create=True) as (dir_fd, name):
        try:
            old: os.stat_result | None = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            old = None
        if old is not None and not stat.S_ISREG(old.st_mode):
            kind = "a symbolic link" if stat.S_ISLNK(old.st_mode) else "not a regular file"
            raise UnsafePath(f"{relative}: is {kind}; the host never writes through it")
        temp = f".steward-{secrets.token_hex(8)}.tmp"
        fd = os.open(temp, _TEMP_FLAGS, 0o644, dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                _keep_owner(file.fileno(), dir_fd, old)
            os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=dir_fd)
            raise


def _keep_owner(fd: int, dir_fd: int, old: os.stat_result | None) -> None:
    """The new file keeps the old one's mode and owner (or takes the directory's owner when new)."""
    if old is not None:
        os.fchmod(fd, stat.S_IMODE(old.st_mode) & 0o777)
    if os.geteuid() == 0:
        owner = old or os.fstat(dir_fd)
        os.fchown(fd, owner.st_uid, owner.st_gid)


def regular_files(root: Path, limit: int) -> list[str]:
    """Repository paths of the regular files below root (no links followed, `.git` skipped), at most limit."""
    found: list[str] = []
    for top, dirs, files, dir_fd in os.fwalk(root, follow_symlinks=False):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        prefix = os.path.relpath(top, root)
        for name in sorted(files):
            with contextlib.suppress(FileNotFoundError):
                if not stat.S_ISREG(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
                    continue
                found.append(name if prefix == "." else f"{prefix}/{name}")
            if len(found) >= limit:
                return found
    return found


@dataclass(frozen=True)
class Usage:
    """What a directory tree takes on disk (allocated blocks, a hard link counted once), as far as walked."""

    bytes: int
    complete: bool
    """False when the walk stopped at its entry or depth bound: `bytes` is then a lower bound."""


def disk_usage(root: Path, max_entries: int, max_depth: int) -> Usage:
    """The tree's disk use, walked by directory descriptor with O_NOFOLLOW (a link counts as itself)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    entries = 0
    complete = True

    def walk(fd: int, depth: int) -> None:
        nonlocal total, entries, complete
        subdirs: list[str] = []
        with os.scandir(fd) as listing:
            for entry in listing:
                entries += 1
                if entries > max_entries:
                    complete = False
                    return
                found = entry.stat(follow_symlinks=False)
                if (found.st_dev, found.st_ino) not in seen:
                    seen.add((found.st_dev, found.st_ino))
                    total += found.st_blocks * 512
                if stat.S_ISDIR(found.st_mode):
                    subdirs.append(entry.name)
        for name in subdirs:
            if depth >= max_depth:
                complete = False
                continue
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)  # a directory swapped for a link fails here
            except OSError:
                complete = False
                continue
            try:
                walk(child, depth + 1)
            finally:
                os.close(child)
            if entries > max_entries:
                return

    fd = os.open(root, _DIR_FLAGS)
    try:
        total += os.fstat(fd).st_blocks * 512
        walk(fd, 0)
    finally:
        os.close(fd)
    return Usage(total, complete)


def remove_tree(root: Path) -> None:
    """Delete a directory and all below it without following a link inside it (root itself must not be one).

    shutil.rmtree walks by descriptor here (`avoids_symlink_attacks`); a tree too deep for its recursion goes
    to GNU rm, which never follows a link either and stays on one file system.
    """
    found = os.lstat(root)
    if not stat.S_ISDIR(found.st_mode):
        raise UnsafePath(f"{root}: not a directory (a link is never followed)")
    if not shutil.rmtree.avoids_symlink_attacks:  # pragma: no cover (Linux has the descriptor-based walk)
        raise UnsafePath("this platform's shutil.rmtree could follow a link; nothing removed")
    try:
        shutil.rmtree(root)
    except RecursionError:
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(root)], check=True, timeout=600)
