"""Per-repository download caches for setup phases, and the bound that keeps them from growing forever.

Layout: `<data_dir>/caches/<sha(repo)>/<key>/` is the host's, and its mtime says when a run last used it; only
its `data/` subdirectory is mounted in the sandbox, which writes all below it. The host never reads a file in
there: it measures the tree by lstat and deletes it by descriptor, never following a link the sandbox made.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from sandbox import hostfs
from sandbox.image import SANDBOX_UID

log = logging.getLogger(__name__)

CACHES = "caches"
MOUNTED = "data"
IN_USE_SECONDS = 3600.0
"""A cache used this recently is kept even over the bound: a run may still be installing from it."""
MAX_ENTRIES = 500_000
MAX_DEPTH = 64
"""Bounds of the walk that measures one cache; a cache past either is not pip's or uv's, and goes first."""


def cache_dir(data_dir: Path, repo: str, key: str) -> Path:
    """The directory to mount for one repository's cache of one set of dependency files; marked used now."""
    name = hashlib.sha256(repo.encode()).hexdigest()[:16]
    entry = data_dir / CACHES / name / key
    entry.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.utime(entry, follow_symlinks=False)  # the host's own directory: the sandbox cannot touch its time
    mounted = entry / MOUNTED
    mounted.mkdir(exist_ok=True, mode=0o700)
    if os.geteuid() == 0:
        os.lchown(mounted, SANDBOX_UID, SANDBOX_UID)
    return mounted


@dataclass(frozen=True)
class Entry:
    path: Path
    used: float
    usage: hostfs.Usage


@dataclass
class Pruned:
    """What one pass found and did: bytes before and after, and the caches it removed."""

    before: int = 0
    after: int = 0
    removed: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _dirs(parent: Path) -> list[Path]:
    """The real directories in parent (a link or a file there is not the host's and is skipped)."""
    found = []
    with contextlib.suppress(FileNotFoundError):  # another worker may be pruning too
        for name in sorted(os.listdir(parent)):
            with contextlib.suppress(FileNotFoundError):
                if stat.S_ISDIR(os.lstat(parent / name).st_mode):
                    found.append(parent / name)
    return found


def entries(data_dir: Path) -> list[Entry]:
    """Every repository's caches, each with when it was last used and what it takes."""
    found = []
    for repo in _dirs(data_dir / CACHES):
        for entry in _dirs(repo):
            with contextlib.suppress(FileNotFoundError):
                usage = hostfs.disk_usage(entry, MAX_ENTRIES, MAX_DEPTH)
                found.append(Entry(entry, os.lstat(entry).st_mtime, usage))
    return found


def prune(data_dir: Path, max_bytes: int, now: float | None = None) -> Pruned:
    """Remove the least recently used caches until all of them fit in max_bytes.

    A cache too large or too deep to measure goes first; one used in the last IN_USE_SECONDS stays.
    """
    now = time.time() if now is None else now
    found = entries(data_dir)
    result = Pruned(before=sum(e.usage.bytes for e in found))
    total = result.before
    # Unmeasurable first, then oldest first.
    for entry in sorted(found, key=lambda e: (e.usage.complete, e.used)):
        if total <= max_bytes and entry.usage.complete:
            break
        if now - entry.used < IN_USE_SECONDS:
            continue
        try:
            hostfs.remove_tree(entry.path)
        except (OSError, subprocess.SubprocessError, hostfs.UnsafePath) as exc:
            result.failed.append(f"{entry.path}: {exc}")
            continue
        total -= entry.usage.bytes
        result.removed.append(entry.path)
        _remove_if_empty(entry.path.parent)
    result.after = total
    if result.removed or result.failed or total > max_bytes:
        log.info(
            "download caches: %d bytes before, %d after (bound %d); removed %d, could not remove %s",
            result.before, result.after, max_bytes, len(result.removed), result.failed or "none",
        )  # fmt: skip
    return result


def _remove_if_empty(repo: Path) -> None:
    with contextlib.suppress(OSError):  # another cache of the repository is still there
        os.rmdir(repo)
