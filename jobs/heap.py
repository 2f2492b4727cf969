"""The worker's C heap under glibc: fixed allocator thresholds, and free pages handed back after a big build.

What bench/soak.py found: a worker's Python objects and SQLite's memory stay flat over a soak, while glibc's
heap grows by its *free* space. The duplicate index is the cause: each snapshot rebuild (jobs/duplicates/
live.py) allocates the new matrices while the old ones are alive, so every generation lands above the last
and leaves holes below; with no opened or edited issues in the mix the workers' RSS stays flat. Two glibc
defaults make it worse:

- the mmap threshold is dynamic: once a large block is freed, blocks up to that size come from the heap
  instead of their own mapping, where a free cannot return them. Fixed, blocks of `MMAP_THRESHOLD_BYTES` or
  more are always mapped, and unmapped when freed;
- each thread gets an arena of its own (up to 8 per core), and aiosqlite runs a thread per connection.

`tune` fixes both at the start of `steward worker`, before its threads exist; `trim` hands free pages back
to the system (malloc_trim) after a snapshot build. A setting the operator made (MALLOC_ARENA_MAX,
MALLOC_MMAP_THRESHOLD_, GLIBC_TUNABLES) wins: `tune` then changes nothing. Elsewhere (musl, macOS) both are
no-ops.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import sys

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
"""mallopt's parameter numbers (glibc's malloc.h)."""
MMAP_THRESHOLD_BYTES = 128 * 1024
"""glibc's own starting value, kept fixed instead of rising after large frees."""
ARENAS = 2
OPERATOR_SETTINGS = ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The process's own C library, when it is glibc."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    if not all(hasattr(libc, name) for name in ("gnu_get_libc_version", "mallopt", "malloc_trim")):
        return None
    return libc


def tune() -> bool:
    """Fix the mmap threshold and cap the arenas; True when both were set here."""
    libc = _glibc()
    if libc is None:
        return False
    chosen = [name for name in OPERATOR_SETTINGS if name in os.environ]
    if chosen:
        log.info("allocator left as configured (%s)", ", ".join(chosen))
        return False
    threshold = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    arenas = bool(libc.mallopt(M_ARENA_MAX, ARENAS))
    return threshold and arenas


def trim() -> bool:
    """Hand the heap's free pages back to the system; True when some were."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
