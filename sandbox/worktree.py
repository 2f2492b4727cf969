"""Walk a work tree the sandbox wrote before host git reads it: no links followed, no repository entered."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from sandbox.gitmeasure import MEASURE_BUDGET

MAX_ENTRIES = 200_000
"""Most files and directories a work tree may hold; past it the change is refused before git runs."""
MAX_DEPTH = 64
"""Deepest directory nesting walked; deeper is refused (a bound on open directory descriptors)."""
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class Scan:
    """What the walk found that host git must not see, and how many entries it counted."""

    links: list[str] = field(default_factory=list)
    repositories: list[str] = field(default_factory=list)
    special: list[str] = field(default_factory=list)
    too_deep: list[str] = field(default_factory=list)
    large: list[tuple[str, int]] = field(default_factory=list)
    """Regular files above the size limit, with their sizes: git would hash each whole (a sparse file too)."""
    changed: list[str] = field(default_factory=list)
    """Entries that changed kind or went away while walked: a process of the sandbox still running."""
    entries: int = 0
    too_many: bool = False

    @property
    def ok(self) -> bool:
        return not (self.links or self.repositories or self.special or self.too_deep or self.too_many
                    or self.large or self.changed)  # fmt: skip


def _is_git_name(name: str) -> bool:
    # `.git` in any case: a case-insensitive checkout (or core.ignoreCase) treats .GIT as the real thing.
    return name.lower() == ".git"


class _Walk:
    def __init__(
        self, known_links: Collection[str], max_entries: int, max_file_bytes: int, tracked: Mapping[str, int]
    ) -> None:
        self.scan = Scan()
        self.known_links = known_links
        self.max_entries = max_entries
        self.max_file_bytes = max_file_bytes
        self.tracked = tracked

    def too_large(self, path: str, size: int) -> bool:
        # A file the commit holds may stay as large as it was (twice: an eol=crlf checkout); the repository
        # chose that size, and the diff's own size check still refuses a rewrite of it.
        return size > max(self.max_file_bytes, 2 * self.tracked.get(path, 0))

    def directory(self, fd: int, prefix: str, depth: int) -> None:
        subdirs: list[str] = []
        with os.scandir(fd) as entries:
            for entry in entries:
                self.scan.entries += 1
                if self.scan.entries > self.max_entries:
                    self.scan.too_many = True
                    return
                if self.entry(entry, prefix + entry.name):
                    subdirs.append(entry.name)
        for name in subdirs:
            if depth >= MAX_DEPTH:
                self.scan.too_deep.append(prefix + name)
                continue
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)  # O_NOFOLLOW: a swapped-in link fails here
            except OSError:  # a link or file swapped in since the listing, or gone: refused, never followed
                self.scan.changed.append(prefix + name)
                continue
            try:
                self.directory(child, f"{prefix}{name}/", depth + 1)
            finally:
                os.close(child)
            if self.scan.too_many:
                return

    def entry(self, entry: os.DirEntry[str], path: str) -> bool:
        """Record what is refused; True for a directory to walk into."""
        # The DirEntry tests read the type the directory listing gave (no stat call), never following a link.
        if _is_git_name(entry.name):
            self.scan.repositories.append(path)
        elif entry.is_symlink():
            if path not in self.known_links:
                self.scan.links.append(path)
        elif entry.is_dir(follow_symlinks=False):
            return True
        elif not entry.is_file(follow_symlinks=False):
            self.scan.special.append(path)
        else:
            try:
                size = entry.stat(follow_symlinks=False).st_size  # lstat, never read
            except OSError:  # gone since the listing
                self.scan.changed.append(path)
                return False
            if self.too_large(path, size):
                self.scan.large.append((path, size))
        return False


def scan_work_tree(
    root: str,
    known_links: Collection[str] = (),
    max_entries: int = MAX_ENTRIES,
    max_file_bytes: int = MEASURE_BUDGET,
    tracked: Mapping[str, int] | None = None,
) -> Scan:
    """Every link (other than `known_links`, the links the checkout itself made), every `.git` entry,
    every special file, every file above `max_file_bytes` (unless `tracked`, the commit's blob sizes, held it
    that large), counted up to `max_entries`; opened only by directory descriptor, never following."""
    walk = _Walk(known_links, max_entries, max_file_bytes, tracked or {})
    fd = os.open(root, _DIR_FLAGS)
    try:
        walk.directory(fd, "", 0)
    finally:
        os.close(fd)
    return walk.scan
