"""The ledger's database fails during the work phase of a docs run, then comes back: SQLite locked by another
connection (an exclusive transaction held past the busy timeout), PostgreSQL stopped and started again. The
worker keeps running, the job is retried with backoff, and the run ends proposed with one plan comment, one PR
and one push."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.settings import Settings
from jobs.ledger import RunState
from tests.infra_fault_support import BUSY_TIMEOUT_SECONDS, SLOW_SECONDS, ExclusiveLock, running, sqlite_path
from tests.postgres import Cluster, fresh_database, own_postgres  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

LOCK_SECONDS = SLOW_SECONDS + BUSY_TIMEOUT_SECONDS + 3
"""Held from the sandbox's start past the slow command's end plus the busy timeout: the run's writes fail."""
PG_OUTAGE_SECONDS = 5.0


async def test_sqlite_locked_in_the_work_phase_then_free_the_run_proposes_once(
    settings: Settings, tmp_path: Path
) -> None:
    lock = ExclusiveLock(sqlite_path(settings))
    with running(settings, tmp_path, retry_base=0.5) as (scene, worker):
        await scene.ask_and_approve()
        await lock.take()
        await asyncio.sleep(LOCK_SECONDS)
        await lock.release()
        assert worker.alive(), scene.log.read_text()[-3000:]
        run = await scene.ends()
        assert worker.alive()
    said = scene.log.read_text()
    assert run.state == RunState.PROPOSED, (run.state, said[-3000:])
    scene.assert_one_proposal()
    assert "database is locked" in said, "the lock never reached the run: the test proves nothing"


@pytest.mark.postgres
async def test_postgres_stops_in_the_work_phase_and_comes_back_the_run_proposes_once(
    settings: Settings,
    tmp_path: Path,
    own_postgres: tuple[Cluster, str],  # noqa: F811
) -> None:
    cluster, pg_ctl = own_postgres
    url = await asyncio.to_thread(fresh_database, cluster.url)
    settings = settings.model_copy(update={"database_url": SecretStr(url)})
    with running(settings, tmp_path, retry_base=1.0) as (scene, worker):
        await scene.ask_and_approve()
        await asyncio.to_thread(cluster.halt, pg_ctl)
        await asyncio.sleep(PG_OUTAGE_SECONDS)
        assert worker.alive(), scene.log.read_text()[-3000:]
        await asyncio.to_thread(cluster.resume, pg_ctl)
        run = await scene.ends()
        assert worker.alive()
    said = scene.log.read_text()
    assert run.state == RunState.PROPOSED, (run.state, said[-3000:])
    scene.assert_one_proposal()
