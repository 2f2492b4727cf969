"""The dashboard's run list with 10,000 runs in the ledger, on SQLite and on PostgreSQL: the HTML page rendered
through the real app (filters, keyset pages), p50 and p95 per case.

Target: p95 at most 200 ms for every case on both databases (PASS/FAIL is printed).
PostgreSQL: a throwaway cluster from Debian's binaries (/usr/lib/postgresql/*/bin), on loopback, removed after.
Run from the repository root: uv run python bench/dashboard.py [--runs 10000] [--rounds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import httpx  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from app.settings import Settings  # noqa: E402
from app.web.app import create_app  # noqa: E402
from jobs.ledger import Ledger, RunState  # noqa: E402
from jobs.models.runs import RunRow, TransitionRow  # noqa: E402

TARGET_P95_MS = 200.0
TOKEN = "bench-token-0123456789"
STATES = [RunState.PROPOSED, RunState.MERGED, RunState.CLOSED, RunState.FAILED, RunState.CANCELLED,
          RunState.QUEUED, RunState.AWAITING_APPROVAL]  # fmt: skip
WORKFLOWS = ["docs", "tests", "duplicates"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def fill(url: str, count: int) -> None:
    """`count` runs over 40 repositories and 30 days, each with its first transition, in batches."""
    ledger = await Ledger.connect(url)
    now = datetime.now(UTC)
    try:
        for start in range(0, count, 1000):
            async with ledger._sessions.begin() as session:
                for n in range(start, min(start + 1000, count)):
                    at = now - timedelta(seconds=n * 259)  # 10,000 runs over 30 days
                    run_id = f"r-{n:010x}"
                    session.add(RunRow(
                        id=run_id, repo=f"org{n % 8}/repo{n % 40}", number=n % 500 + 1,
                        workflow=WORKFLOWS[n % 3], state=STATES[n % len(STATES)].value,
                        engine="agent" if n % 4 == 0 else "builtin", actor=f"user{n % 13}",
                        event="/steward docs", policy={}, limits={"memory": 536870912}, paths=[],
                        instructions=f"<b>title {n}</b>", tool_calls=n % 9, model_tokens=n * 3,
                        cost_usd=n / 1e5, cpu_seconds=1.0, wall_seconds=2.0, created_at=at, updated_at=at,
                    ))  # fmt: skip
                await session.flush()
                for n in range(start, min(start + 1000, count)):
                    session.add(TransitionRow(run_id=f"r-{n:010x}", from_state=None, to_state="queued",
                                              at=now, actor="bench", reason="seeded"))  # fmt: skip
    finally:
        await ledger.close()


async def measure(url: str, rounds: int) -> dict[str, tuple[float, float]]:
    settings = Settings(webhook_secret=SecretStr("x"), database_url=url, dashboard_token=SecretStr(TOKEN),
                        dashboard_session_secret=SecretStr("bench-secret"), redis_url="redis://127.0.0.1:1/0")  # fmt: skip
    edge = create_app(settings)
    headers = {"authorization": f"Bearer {TOKEN}", "accept": "text/html"}
    transport = httpx.ASGITransport(app=edge.api)
    results: dict[str, tuple[float, float]] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
        deep = "/dashboard/runs"
        for _ in range(100):  # walk 100 pages (5,000 runs) down for the deep-page case
            page = (await client.get(deep, headers={"accept": "application/json"})).json()
            deep = f"/dashboard/runs?after={page['after']}"
        cases = {
            "first page": "/dashboard/runs",
            "by repository": "/dashboard/runs?repo=org3/repo11",
            "by state": "/dashboard/runs?state=failed",
            "by workflow, engine, 7d": "/dashboard/runs?workflow=docs&engine=agent&since=7d",
            "page 101 (keyset)": deep,
            "htmx table only": "/dashboard/runs?state=queued",
        }
        for name, path in cases.items():
            extra = {"hx-request": "true"} if name.startswith("htmx") else {}
            for _ in range(3):
                (await client.get(path, headers=extra)).raise_for_status()
            times = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                answer = await client.get(path, headers=extra)
                times.append((time.perf_counter() - t0) * 1000)
                assert answer.status_code == 200 and "<table" in answer.text, answer.text[:200]
            times.sort()
            results[name] = (statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)])
    return results


class Postgres:
    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
        if not bins:
            raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = bins[0]
        self.root = Path(tempfile.mkdtemp(prefix="steward-bench-pg-"))
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "postgres", "postgres")

    def __enter__(self) -> str:
        data = self.root / "data"
        subprocess.run([*self.as_user, str(self.bin / "initdb"), "-D", str(data), "-U", "steward",
                        "--auth=trust", "--no-sync"], check=True, capture_output=True)  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                        str(self.root / "log"), "-w", "start"], check=True, capture_output=True)  # fmt: skip
        return f"postgresql+asyncpg://steward@127.0.0.1:{self.port}/postgres"

    def __exit__(self, *exc: object) -> None:
        subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast",
                        "stop"], capture_output=True)  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


def report(database: str, results: dict[str, tuple[float, float]]) -> bool:
    ok = True
    for name, (p50, p95) in results.items():
        passed = p95 <= TARGET_P95_MS
        ok &= passed
        print(
            f"  {database:<10} {name:<26} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   {'ok' if passed else 'SLOW'}"
        )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    print(f"dashboard run list, {args.runs} runs in the ledger, {args.rounds} requests per case")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        asyncio.run(fill(url, args.runs))
        ok &= report("SQLite", asyncio.run(measure(url, args.rounds)))
    with Postgres() as url:
        asyncio.run(fill(url, args.runs))
        ok &= report("PostgreSQL", asyncio.run(measure(url, args.rounds)))
    print(f"target: p95 <= {TARGET_P95_MS:.0f} ms in every case: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
