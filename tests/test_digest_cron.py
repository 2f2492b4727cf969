"""The cron lock: two workers on a real Redis race the same hour's digest pass, and one issue is created."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import respx
from arq import Worker, create_pool
from arq.utils import to_unix_ms
from sqlalchemy import func, select

from app.settings import Settings
from jobs.db import make_engine, migrate, sessions
from jobs.doctor import check_schedule
from jobs.models.digests import DigestRow
from jobs.scheduled import cron_jobs, next_runs
from jobs.scheduled.digest import weekly_digest
from tests.digest_support import NOW, DigestGitHub

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def ledger(tmp_path: Any) -> AsyncIterator[Any]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")
    await migrate(engine)
    yield sessions(engine)
    await engine.dispose()


def _on(settings: Settings) -> Settings:
    return settings.model_copy(update={"digest_pass": True})


def _digest_job(settings: Settings) -> Any:
    [job] = [job for job in cron_jobs(settings) if job.name == "weekly_digest"]
    return job


def test_the_pass_runs_hourly_and_doctor_lists_it(settings: Settings) -> None:
    assert Settings.model_fields["digest_pass"].default is True  # on by default; the tests turn it off
    job = _digest_job(_on(settings))
    assert job.minute == {2} and job.unique and job.max_tries == 1
    found = {item.name: when for item, when in next_runs(_on(settings), NOW)}
    assert found["weekly_digest"] == datetime(2026, 11, 30, 9, 2, 0, 123456, tzinfo=UTC)
    lines = [check.line() for check in check_schedule(_on(settings), NOW)]
    assert any("weekly_digest" in line and "next run 2026-11-30 09:02 UTC" in line for line in lines), lines
    assert "weekly_digest" not in [job.name for job in cron_jobs(settings)]  # digest_pass off
    assert any("weekly_digest" in line and "off" in line for line in map(str, check_schedule(settings, NOW)))


def _due_now() -> str:
    """A configuration whose digest is due at the real clock's current hour (the workers use the clock)."""
    now = datetime.now(UTC)
    day = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[now.weekday()]
    return f"digest: {{enabled: true, day: {day}, hour: {now.hour}, timezone: UTC}}\n"


async def _race(settings: Settings, ledger: Any, github: DigestGitHub) -> list[str]:
    """Two workers with their own Redis pools run the pass of the same period at once."""
    ran: list[str] = []

    async def counted(ctx: dict[str, Any]) -> str:
        outcome = await weekly_digest(ctx)
        ran.append(outcome)
        return outcome

    period = datetime.now(UTC) - timedelta(seconds=1)  # a period that is due now, on both workers
    # The period after it, which each worker's heartbeat would enqueue once due, half an hour away: at
    # hh:01:59 the schedule's own minute would come due during the race and run a second, honest pass
    later = {(period.minute + 30) % 60}
    workers, pools = [], []
    for _ in range(2):
        job = _digest_job(settings)
        job.coroutine, job.next_run, job.minute = counted, period, later
        pools.append(await create_pool(_redis(settings)))
        workers.append(
            Worker(
                functions=[],
                cron_jobs=[job],
                redis_pool=pools[-1],
                ctx={"settings": settings, "sessions": ledger},
                burst=True,
                poll_delay=0.01,
                handle_signals=False,
            )
        )
    try:
        with github.install(respx.mock(assert_all_called=False)):
            now = datetime.now(UTC)
            await asyncio.gather(*(worker.run_cron(now, delay=0.5) for worker in workers))
            await asyncio.gather(*(worker.run_check() for worker in workers))
    finally:
        for worker in workers:
            await worker.close()
        for pool in pools:
            await pool.aclose()
    return ran


def _redis(settings: Settings) -> Any:
    from jobs.worker import redis_settings

    return redis_settings(settings)


async def test_two_workers_one_digest(settings: Settings, ledger: Any) -> None:
    github = DigestGitHub(_due_now())
    ran = await _race(_on(settings), ledger, github)
    assert len(ran) == 1, ran  # arq's id per period: the second worker's enqueue is refused
    assert ran[0].startswith("1 repositories read: 1 digests published"), ran
    assert github.writes == ["POST issues"]
    async with ledger() as session:
        assert await session.scalar(select(func.count(DigestRow.id))) == 1


async def test_two_passes_at_once_under_different_ids_still_make_one_issue(
    settings: Settings, ledger: Any
) -> None:
    """With the queue's guard and the period's lock both bypassed (two ids), the week's ledger claim still
    lets one pass publish; the other is told the week is being published."""
    from jobs.worker import redis_settings

    github = DigestGitHub(_due_now())
    github.create_delay = 0.5
    pools = [await create_pool(redis_settings(settings)) for _ in range(2)]
    contexts = [
        {"settings": _on(settings), "sessions": ledger, "redis": pool, "job_id": f"weekly_digest:copy-{i}"}
        for i, pool in enumerate(pools)
    ]
    try:
        with github.install(respx.mock(assert_all_called=False)):
            outcomes = await asyncio.gather(*(weekly_digest(ctx) for ctx in contexts))
    finally:
        for pool in pools:
            await pool.aclose()
    assert github.writes.count("POST issues") == 1, (github.writes, outcomes)
    assert sorted(o.split(": ")[1][:21] for o in outcomes) == [
        "0 digests published, ",
        "1 digests published, ",
    ]


async def test_a_second_copy_of_the_same_period_finds_the_lock_taken(settings: Settings, ledger: Any) -> None:
    from arq import create_pool as pool_of

    pool = await pool_of(_redis(settings))
    job_id = f"weekly_digest:{to_unix_ms(NOW)}"
    github = DigestGitHub()
    ctx = {"settings": _on(settings), "sessions": ledger, "redis": pool, "job_id": job_id}
    try:
        with github.install(respx.mock(assert_all_called=False)):
            assert await pool.set(f"steward:cron:{job_id}", "1", nx=True, ex=60)  # the first worker's lock
            assert await weekly_digest(ctx) == "another worker ran this period's pass"
    finally:
        await pool.aclose()
    assert github.writes == []


async def test_two_worker_processes_one_digest(
    settings: Settings, tmp_path: Path, private_key_pem: str
) -> None:
    """Two worker processes, each with its own GitHub mock, race the same period on one Redis and one ledger:
    one issue is created between them."""
    db = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    engine = make_engine(db)
    await migrate(engine)
    await engine.dispose()
    key, config = tmp_path / "app.pem", tmp_path / "steward.yml"
    key.write_text(private_key_pem)
    config.write_text(_due_now())
    period = str(to_unix_ms(datetime.now(UTC) - timedelta(seconds=1)))
    args = [
        sys.executable,
        "-m",
        "tests.digest_worker_proc",
        settings.redis_url,
        db,
        period,
        str(key),
        str(config),
    ]
    procs = [
        await asyncio.create_subprocess_exec(
            *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(2)
    ]
    outputs = [await asyncio.wait_for(proc.communicate(), timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err.decode()[-2000:] for _, err in outputs]
    reports = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(r["writes"].count("POST issues") for r in reports) == 1, reports
    assert sorted(len(r["ran"]) for r in reports) == [0, 1], reports  # one process ran the period's pass
