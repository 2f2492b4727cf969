"""The weekly digest of a busy repository: a pass's time for one repository whose week holds 500 merged pull
requests, 500 issues opened, 300 open pull requests waiting on 50 reviewers and 2,000 ledger rows (GitHub's
lists answered on loopback by respx, the ledger a real SQLite file), p50 and p95 over the runs; the body's size.

Target: p50 under 2 s and the body within GitHub's 65,536-character limit (PASS/FAIL is printed).
Run from the repository root: uv run python bench/digest.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import respx  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from app.settings import Settings  # noqa: E402
from jobs.db import make_engine, migrate, sessions  # noqa: E402
from jobs.models.runs import RunRow, TransitionRow  # noqa: E402
from jobs.scheduled.digest import digest_pass  # noqa: E402
from tests.digest_support import FULL, NOW, START, DigestGitHub, issue, pull  # noqa: E402

TARGET_P50_SECONDS = 2.0


def busy(github: DigestGitHub) -> None:
    at = [START + timedelta(minutes=20 * i) for i in range(500)]
    github.closed = [
        pull(1000 + i, f"Change number {i} for @someone", f"author{i % 40}", created=t, updated=t, merged=t)
        for i, t in reversed(list(enumerate(at)))
    ]
    github.issues = [issue(3000 + i, f"Issue {i}", "someone", created=t, updated=t) for i, t in enumerate(at)]
    github.open = [
        pull(5000 + i, f"Open {i}", "octo-dev", created=START, updated=START, reviewers=(f"rev{i % 50}",))
        for i in range(300)
    ]


async def seed(url: str) -> None:
    engine = make_engine(url)
    await migrate(engine)
    async with sessions(engine)() as session:
        for i in range(1000):
            at = START + timedelta(minutes=10 * i)
            session.add(
                RunRow(
                    id=f"r{i}",
                    repo=FULL,
                    number=i,
                    workflow="docs",
                    state="proposed",
                    created_at=at,
                    updated_at=at,
                    pr_number=i,
                    model_tokens=100,
                )
            )
            session.add(TransitionRow(run_id=f"r{i}", from_state="running", to_state="proposed", at=at))
        await session.commit()
    await engine.dispose()


async def once(settings: Settings, url: str) -> tuple[float, int]:
    engine = make_engine(url)
    github = DigestGitHub()
    busy(github)
    github.merged_counts = {f"author{i}": 99 for i in range(40)}
    try:
        with github.install(respx.mock(assert_all_called=False)):
            began = time.perf_counter()
            await digest_pass(settings, sessions(engine), now=NOW)
            took = time.perf_counter() - began
    finally:
        await engine.dispose()
    body = github.created[0]["body"]
    return took, len(body.encode("utf-16-le")) // 2


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    settings = Settings(app_id=1, private_key=SecretStr(key.decode()), digest_pass=True)
    times, size = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(runs):
            url = f"sqlite+aiosqlite:///{tmp}/ledger{run}.db"  # a fresh ledger: every run publishes
            asyncio.run(seed(url))
            took, size = asyncio.run(once(settings, url))
            times.append(took)
    p50 = statistics.median(times)
    p95 = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
    ok = p50 < TARGET_P50_SECONDS and size <= 65_536
    print(
        f"digest pass, one busy repository: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms over {runs} runs"
    )
    print(f"body: {size:,} UTF-16 units (limit 65,536)")
    print(f"{'PASS' if ok else 'FAIL'}: p50 < {TARGET_P50_SECONDS:.0f} s and the body within GitHub's limit")


if __name__ == "__main__":
    main()
