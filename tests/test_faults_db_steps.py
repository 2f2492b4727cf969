"""The ledger's database fails at each step of a docs run but the work phase (tests/test_faults_db.py's cases)
and comes back: the worker is paused at the step by its failpoint, the database is broken, the step goes on
without it, the database returns (tests/infra_fault_support.py's `at_step`, which the Redis step cases share).

SQLite: another connection holds the write lock past the busy timeout, so the step's next write fails with
"database is locked" and the job is tried again; at every step, setup included (its repository asks for an
install step). PostgreSQL: the server stopped and started again, at every step too (the step's next read
or write of the ledger finds it gone). Every case ends as the work-phase cases do: the
worker alive, the run proposed once (one plan comment, one PR, one push, the issue told), the fault seen in
the log."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.settings import Settings
from tests.infra_fault_support import BUSY_TIMEOUT_SECONDS, STEPS, ExclusiveLock, Outage, at_step, sqlite_path
from tests.postgres import Cluster, fresh_database, own_postgres  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

LOCK_SECONDS = BUSY_TIMEOUT_SECONDS + 2
"""How long the lock is held after the step is let go: past the busy timeout of the step's first write."""
LOCKED = "database is locked"
PG_OUTAGE_SECONDS = 5.0
PG_DOWN = (
    r"(OperationalError|InterfaceError|ConnectionRefusedError|ConnectionDoesNotExistError|ConnectionError)"
)
"""How the worker's log names a PostgreSQL that is not there (a write refused, a read re-queued)."""


@pytest.mark.parametrize("step", STEPS)
async def test_sqlite_locked_at_the_step_and_the_run_still_proposes_once(
    settings: Settings, tmp_path: Path, step: str
) -> None:
    lock = ExclusiveLock(sqlite_path(settings))
    await at_step(settings, tmp_path, step, Outage(lock.take, lock.release, LOCK_SECONDS, LOCKED))


@pytest.mark.postgres
@pytest.mark.parametrize("step", STEPS)
async def test_postgres_stops_at_the_step_and_the_run_still_proposes_once(
    settings: Settings,
    tmp_path: Path,
    own_postgres: tuple[Cluster, str],  # noqa: F811
    step: str,
) -> None:
    cluster, pg_ctl = own_postgres
    url = await asyncio.to_thread(fresh_database, cluster.url)

    async def cut() -> None:
        await asyncio.to_thread(cluster.halt, pg_ctl)

    async def mend() -> None:
        await asyncio.to_thread(cluster.resume, pg_ctl)

    outage = Outage(cut, mend, PG_OUTAGE_SECONDS, PG_DOWN)
    settings = settings.model_copy(update={"database_url": SecretStr(url)})
    await at_step(settings, tmp_path, step, outage, retry_base=1.0)
