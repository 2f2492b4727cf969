"""The worker's allocator settings (jobs/heap.py), seen through glibc's own accounting in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobs import heap

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import ctypes, sys
from jobs import heap

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
tuned = heap.tune()
libc.free(libc.malloc(8 << 20))  # a freed mapped block: glibc's dynamic threshold rises to its size
before = libc.mallinfo2().hblkhd
block = libc.malloc(1 << 20)
mapped = libc.mallinfo2().hblkhd - before >= 1 << 20
libc.free(block)
print(tuned, mapped)
"""

glibc_only = pytest.mark.skipif(heap._glibc() is None, reason="these settings are glibc's")


def _probe(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in heap.OPERATOR_SETTINGS}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean | env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@glibc_only
def test_tuned_a_large_block_keeps_its_own_mapping_after_a_larger_one_was_freed() -> None:
    """Without the fixed threshold, the 1 MiB block would come from the heap, where freeing it cannot
    return it to the system (the probe's second answer would be False)."""
    assert _probe() == "True True"


@glibc_only
@pytest.mark.parametrize("name", heap.OPERATOR_SETTINGS)
def test_an_operators_allocator_setting_is_left_alone(name: str) -> None:
    value = "glibc.malloc.check=0" if name == "GLIBC_TUNABLES" else "4"
    if name == "MALLOC_MMAP_THRESHOLD_":
        value = str(16 << 20)  # above the probe's blocks: they come from the heap either way
    assert _probe(**{name: value}) == "False False"


TRIM_PROBE = """
import ctypes
from jobs import heap

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
blocks = [libc.malloc(16 << 10) for _ in range(2000)]  # 32 MiB of heap, below the mmap threshold
for block in blocks:
    ctypes.memset(block, 1, 16 << 10)
pin = libc.malloc(16 << 10)  # above them, so free() cannot shrink the heap from its top
for block in blocks:
    libc.free(block)
freed = rss()
heap.trim()
print((freed - rss()) >> 20)
"""


@glibc_only
def test_trim_hands_free_heap_pages_back() -> None:
    """32 MiB freed below a live block stay in the process until trimmed."""
    done = subprocess.run(
        [sys.executable, "-c", TRIM_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 24, f"trim gave back only {done.stdout.strip()} MiB"
