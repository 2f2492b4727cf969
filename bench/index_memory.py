"""A worker's memory per indexed issue: open issues one by one into a real SQLite index, triage after each.

Run: `uv run python bench/index_memory.py [--issues 4000]`. Each mode runs in a fresh process, since the
allocator's settings hold for a process's life:
- `default`: glibc as it comes, no trim after a snapshot build;
- `steward`: what `steward worker` does (jobs/heap.py: fixed mmap threshold, two arenas, trim after builds).
Prints RSS and glibc's heap (in use, free) as the index grows, and the RSS cost per issue past the first
thousand. The soak (bench/soak.py) opens ten issues a second, so this cost is most of its workers' growth.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORDS = [
    "parser",
    "crash",
    "error",
    "memory",
    "leak",
    "window",
    "button",
    "click",
    "load",
    "save",
    "file",
    "network",
    "timeout",
]
REPO = "octo/soak"


class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ["arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost"]]  # fmt: skip


def rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


async def grow(issues: int, every: int) -> list[tuple[int, float, float, float]]:
    from app.github.protocol import IssueRecord
    from jobs.db import make_engine, migrate, sessions
    from jobs.duplicates import store
    from jobs.duplicates.live import IndexCache

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = Info
    points = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp}/index.db")
        await migrate(engine)
        db = sessions(engine)
        cache = IndexCache(db)
        for n in range(1, issues + 1):
            title = f"Issue {n} about a crash in the {WORDS[n % len(WORDS)]} {WORDS[(n * 7) % len(WORDS)]}"
            body = " ".join(WORDS[(n * k) % len(WORDS)] for k in range(60)) + f" token{n} ref{n % 97}"
            await store.upsert_item(db, REPO, IssueRecord(n, title, body, "open", False, "a"))
            await cache.snapshot(REPO, hybrid=False)  # what triage does after each opened issue
            if n % every == 0:
                info = libc.mallinfo2()
                points.append((n, rss_mib(), info.uordblks / 2**20, info.fordblks / 2**20))
        await engine.dispose()
    return points


def child(mode: str, issues: int, every: int) -> None:
    from jobs import heap

    if mode == "steward":
        heap.tune()
    else:
        heap.trim = lambda: False  # type: ignore[assignment]
    for n, rss, used, free in asyncio.run(grow(issues, every)):
        print(f"{mode}\t{n}\t{rss:.1f}\t{used:.1f}\t{free:.1f}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=4000)
    parser.add_argument("--child", choices=("default", "steward"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    every = max(1, args.issues // 4)
    if args.child:
        child(args.child, args.issues, every)
        return 0
    from jobs.heap import OPERATOR_SETTINGS

    env = {k: v for k, v in os.environ.items() if k not in OPERATOR_SETTINGS}  # else tune leaves glibc alone
    print(
        f"index memory: {args.issues} issues opened one by one, a triage after each (SQLite, one process each)"
    )
    for mode in ("default", "steward"):
        argv = [sys.executable, __file__, "--child", mode, "--issues", str(args.issues)]
        out = subprocess.run(argv, capture_output=True, text=True, check=True, env=env).stdout
        rows = [line.split("\t") for line in out.splitlines()]
        for _, n, rss, used, free in rows:
            print(
                f"  {mode:8s} {int(n):6d} issues: RSS {rss} MiB, glibc heap in use {used} MiB, free {free} MiB"
            )
        first, last = rows[0], rows[-1]
        per_issue = (float(last[2]) - float(first[2])) * 2**20 / (int(last[1]) - int(first[1]))
        print(f"  {mode:8s} RSS per issue past {first[1]}: {per_issue / 1024:.2f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
