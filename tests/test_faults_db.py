"""The ledger's database fails during the work phase of a docs run, then comes back: SQLite locked by another
connection (an exclusive transaction held past the busy timeout), PostgreSQL stopped and started again. The
worker keeps running, the job is retried with backoff, and the run ends proposed with one plan comment, one PR
and one push."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.settings import Settings
from jobs.ledger import RunState
from tests.infra_fault_support import SLOW_SECONDS, running
from tests.postgres import Cluster, _bin, fresh_database

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

BUSY_TIMEOUT_SECONDS = 5  # jobs.db sets PRAGMA busy_timeout=5000
LOCK_SECONDS = SLOW_SECONDS + BUSY_TIMEOUT_SECONDS + 3
"""Held from the sandbox's start past the slow command's end plus the busy timeout: the run's writes fail."""
PG_OUTAGE_SECONDS = 5.0


def hold_exclusive(path: Path, seconds: float, taken: threading.Event) -> None:
    """Another process's connection takes the write lock of the SQLite file and keeps it a while."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        taken.set()
        threading.Event().wait(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


async def test_sqlite_locked_in_the_work_phase_then_free_the_run_proposes_once(
    settings: Settings, tmp_path: Path
) -> None:
    path = Path(settings.db_url.split(":///", 1)[1])
    with running(settings, tmp_path, retry_base=0.5) as (scene, worker):
        await scene.ask_and_approve()
        taken = threading.Event()
        holder = threading.Thread(target=hold_exclusive, args=(path, LOCK_SECONDS, taken), daemon=True)
        holder.start()
        assert await asyncio.to_thread(taken.wait, 10)
        await asyncio.to_thread(holder.join, LOCK_SECONDS + 10)
        assert worker.alive(), scene.log.read_text()[-3000:]
        run = await scene.ends()
        assert worker.alive()
    said = scene.log.read_text()
    assert run.state == RunState.PROPOSED, (run.state, said[-3000:])
    scene.assert_one_proposal()
    assert "database is locked" in said, "the lock never reached the run: the test proves nothing"


@pytest.fixture
def own_postgres() -> Iterator[tuple[Cluster, str]]:
    """A private PostgreSQL server this test may stop and start (the session's shared one stays up)."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.fail("PostgreSQL is not installed (no initdb/pg_ctl): `apt-get install postgresql`")
    cluster = Cluster()
    cluster.start(initdb, pg_ctl)
    try:
        yield cluster, pg_ctl
    finally:
        cluster.stop(pg_ctl)


@pytest.mark.postgres
async def test_postgres_stops_in_the_work_phase_and_comes_back_the_run_proposes_once(
    settings: Settings, tmp_path: Path, own_postgres: tuple[Cluster, str]
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
