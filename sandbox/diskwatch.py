"""Where the host cannot mount a quota: measure the work tree while a command runs, stop it at the budget.

With a remote daemon the tree is the run's volume there, measured through the Docker API (transfer.usage)."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import anyio

from sandbox.worktree import MAX_DEPTH

MIN_INTERVAL = 0.25
"""Seconds between two measurements at least (more when a walk takes long: never above a third of the CPU)."""
BLOCK = 4096
"""What even an empty file costs: an inode and, on most filesystems, a block."""
T = TypeVar("T")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def usage(root: Path, budget: int) -> int:
    """Bytes the tree takes (allocated or apparent, whichever is larger), counting stops past `budget`.

    Opened by directory descriptor, never following a link: a directory the sandbox swaps for a link to /
    between the listing and the walk into it fails there, instead of the host walking host directories.
    """
    count = _Count(budget)
    try:
        fd = os.open(root, _DIR_FLAGS)
    except OSError:
        return 0  # vanished or not a directory any more
    try:
        count.directory(fd, 0)
    finally:
        os.close(fd)
    return count.total


class _Count:
    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.total = 0

    def directory(self, fd: int, depth: int) -> None:
        subdirs = []
        try:
            entries = os.scandir(fd)
        except OSError:
            return  # unreadable: the sandbox is changing it under us
        with entries:
            for entry in entries:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                self.total += max(info.st_blocks * 512, info.st_size, BLOCK)
                if stat.S_ISDIR(info.st_mode):
                    subdirs.append(entry.name)
        for name in subdirs:
            if self.total > self.budget:
                return
            if depth >= MAX_DEPTH:  # refused after the command anyway; one descriptor a level stays bounded
                self.total = self.budget + 1
                return
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)  # O_NOFOLLOW: a swapped-in link fails here
            except OSError:
                continue
            try:
                self.directory(child, depth + 1)
            finally:
                os.close(child)


async def watch(measure: Callable[[], int], budget: int, on_full: Callable[[], Awaitable[None]]) -> None:
    """Measure until cancelled; the first time the tree reaches `budget`, await `on_full` and stop."""
    while True:
        started = time.monotonic()
        used = await anyio.to_thread.run_sync(measure, abandon_on_cancel=True)
        if used > budget:
            await on_full()
            return
        await anyio.sleep(max(MIN_INTERVAL, 2 * (time.monotonic() - started)))


async def guard(
    root: Path, budget: int, body: Callable[[], Awaitable[T]], stop: Callable[[], Awaitable[None]]
) -> tuple[T, bool]:
    """Await `body` watching `root`, calling `stop` at the budget; its result and whether that happened."""
    return await guard_measured(lambda: usage(root, budget), budget, body, stop)


async def guard_measured(
    measure: Callable[[], int],
    budget: int,
    body: Callable[[], Awaitable[T]],
    stop: Callable[[], Awaitable[None]],
) -> tuple[T, bool]:
    """`guard` with its own measure (blocking, run in a thread): a remote daemon's workspace volume."""
    struck = False

    async def on_full() -> None:
        nonlocal struck
        struck = True
        await stop()

    outcome: list[T] = []
    failure: Exception | None = None
    async with anyio.create_task_group() as watchers:
        watchers.start_soon(watch, measure, budget, on_full)
        try:
            outcome.append(await body())
        except Exception as exc:  # raised below as itself, not inside an ExceptionGroup
            failure = exc
        watchers.cancel_scope.cancel()
    if failure is not None:
        raise failure
    return outcome[0], struck
