"""A worker process for tests/test_digest_cron.py: an arq Worker whose digest cron fires for the given period,
on the real Redis and the shared SQLite ledger given, with its own respx GitHub; prints what it did (JSON)."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import respx
from arq import Worker, create_pool
from pydantic import SecretStr

from app.settings import Settings
from jobs.db import make_engine, sessions
from jobs.scheduled import cron_jobs
from jobs.scheduled.digest import weekly_digest
from jobs.worker import redis_settings
from tests.digest_support import DigestGitHub


async def main(redis_url: str, db_url: str, period_ms: int, key_file: str, config: str) -> None:
    settings = Settings(
        app_id=12345,
        private_key=SecretStr(Path(key_file).read_text()),
        redis_url=redis_url,
        database_url=db_url,
        redeliver_every_minutes=0,
        digest_pass=True,
    )
    engine = make_engine(db_url)  # migrated by the test before the workers start
    ran: list[str] = []

    async def counted(ctx: dict[str, object]) -> str:
        outcome = await weekly_digest(ctx)
        ran.append(outcome)
        return outcome

    [job] = [job for job in cron_jobs(settings) if job.name == "weekly_digest"]
    job.coroutine, job.next_run = counted, datetime.fromtimestamp(period_ms / 1000, UTC)
    pool = await create_pool(redis_settings(settings))
    worker = Worker(
        functions=[],
        cron_jobs=[job],
        redis_pool=pool,
        ctx={"settings": settings, "sessions": sessions(engine)},
        burst=True,
        poll_delay=0.01,
        handle_signals=False,
    )
    github = DigestGitHub(config)
    github.create_delay = 0.3
    try:
        with github.install(respx.mock(assert_all_called=False)):
            await worker.run_cron(datetime.now(UTC), delay=0.5)
            await worker.run_check()
    finally:
        await worker.close()
        await pool.aclose()
        await engine.dispose()
    print(json.dumps({"ran": ran, "writes": github.writes}))


if __name__ == "__main__":
    redis, db, period, key, config_file = sys.argv[1:6]
    asyncio.run(main(redis, db, int(period), key, Path(config_file).read_text()))
