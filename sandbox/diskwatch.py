"""Where the host cannot mount a quota: measure the work tree while a command runs, stop it at the budget."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import anyio

MIN_INTERVAL = 0.25
"""Seconds between two measurements at least (more when a walk takes long: never above a third of the CPU)."""
BLOCK = 4096
"""What even an empty file costs: an inode and, on most filesystems, a block."""
T = TypeVar("T")


def usage(root: Path, budget: int) -> int:
    """Bytes the tree takes (allocated or apparent, whichever is larger), counting stops past `budget`."""
    total = 0
    stack = [str(root)]
    while stack and total <= budget:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue  # vanished or unreadable: the sandbox is changing it under us
        with entries:
            for entry in entries:
                try:
                    stat = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                total += max(stat.st_blocks * 512, stat.st_size, BLOCK)
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return total


async def watch(root: Path, budget: int, on_full: Callable[[], Awaitable[None]]) -> None:
    """Measure until cancelled; the first time the tree reaches `budget`, await `on_full` and stop."""
    while True:
        started = time.monotonic()
        used = await anyio.to_thread.run_sync(usage, root, budget, abandon_on_cancel=True)
        if used > budget:
            await on_full()
            return
        await anyio.sleep(max(MIN_INTERVAL, 2 * (time.monotonic() - started)))


async def guard(
    root: Path, budget: int, body: Callable[[], Awaitable[T]], stop: Callable[[], Awaitable[None]]
) -> tuple[T, bool]:
    """Await `body` watching `root`, calling `stop` at the budget; its result and whether that happened."""
    struck = False

    async def on_full() -> None:
        nonlocal struck
        struck = True
        await stop()

    outcome: list[T] = []
    failure: Exception | None = None
    async with anyio.create_task_group() as watchers:
        watchers.start_soon(watch, root, budget, on_full)
        try:
            outcome.append(await body())
        except Exception as exc:  # raised below as itself, not inside an ExceptionGroup
            failure = exc
        watchers.cancel_scope.cancel()
    if failure is not None:
        raise failure
    return outcome[0], struck
