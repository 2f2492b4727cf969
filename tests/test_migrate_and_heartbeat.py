"""What the compose file relies on: `steward migrate` readies the ledger once, migrators that start together
take turns (SQLite and PostgreSQL), and `steward doctor --worker` is ok only while a real arq worker on this
host polls its queue (its heartbeat in the real Redis)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from arq.worker import Worker
from redis.asyncio import Redis
from sqlalchemy import text
from typer.testing import CliRunner

from app.cli import app
from app.settings import Settings
from jobs.db import make_engine, migrate
from jobs.doctor import check_worker
from jobs.heartbeat import HEARTBEAT_SECONDS, heartbeat_key
from jobs.worker import worker_settings
from tests.postgres import db_url  # noqa: F401
from tests.worker_support import FAST_CTX

pytestmark = pytest.mark.anyio
MIGRATOR = (
    "import asyncio, os\nfrom jobs.db import make_engine, migrate\n"
    "asyncio.run(migrate(make_engine(os.environ['STEWARD_DATABASE_URL'])))\n"
)
"""What a worker's start-up and `steward migrate` do, without the rest of their imports."""
MIGRATIONS = Path(__file__).resolve().parent.parent / "jobs" / "migrations" / "versions"


def newest_revision() -> str:
    """The head of the migration chain: the one no other migration names as its down revision."""
    ids, downs = set(), set()
    for path in MIGRATIONS.glob("*.py"):
        source = path.read_text()
        for line in source.splitlines():
            if line.startswith("revision"):
                ids.add(line.split("=", 1)[1].split("#")[0].strip().strip("\"'"))
            elif line.startswith("down_revision"):
                downs.add(line.split("=", 1)[1].split("#")[0].strip().strip("\"'"))
    (head,) = ids - downs
    return head


async def version(url: str) -> str:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return str((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one())
    finally:
        await engine.dispose()


async def test_migrators_that_start_together_take_turns_and_all_succeed(db_url: str) -> None:  # noqa: F811
    env = {**os.environ, "STEWARD_DATABASE_URL": db_url}
    pipe = asyncio.subprocess.PIPE
    started = [  # four processes at once, as workers (or `steward migrate` and a worker) may start
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", MIGRATOR, env=env, stdout=pipe, stderr=pipe
        )
        for _ in range(4)
    ]
    async with asyncio.timeout(120):
        outputs = [(await process.communicate())[1].decode()[-2000:] for process in started]
    assert [process.returncode for process in started] == [0, 0, 0, 0], outputs
    assert await version(db_url) == newest_revision()
    engine = make_engine(db_url)
    try:
        await migrate(engine)  # and once more, in this process: nothing left to do
    finally:
        await engine.dispose()


def test_steward_migrate_readies_the_ledger_and_says_where_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.setenv("STEWARD_DATABASE_URL", url)
    for _ in range(2):  # a second run finds it done
        result = CliRunner().invoke(app, ["migrate"])
        assert result.exit_code == 0, result.output
        assert f"migrated {url} to the newest schema" in result.output
    assert asyncio.run(version(url)) == newest_revision()

    monkeypatch.setenv("STEWARD_DATABASE_URL", "postgresql+asyncpg://steward:s3kr1t-pw@127.0.0.1:9/steward")
    result = CliRunner().invoke(app, ["migrate"])
    assert result.exit_code == 1
    assert "migrating postgresql+asyncpg://127.0.0.1:9/steward failed:" in result.output
    assert "s3kr1t-pw" not in result.output


def probe() -> tuple[int, str]:
    """`steward doctor --worker`, the worker container's health check (in a thread: it runs its own loop)."""
    result = CliRunner().invoke(app, ["doctor", "--worker"])
    return result.exit_code, result.output


async def test_the_worker_probe_is_ok_only_while_a_real_worker_polls(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEWARD_REDIS_URL", settings.redis_url)
    assert not (await check_worker(settings)).ok, "no worker yet"
    code, output = await asyncio.to_thread(probe)
    assert code == 1 and "FAIL  worker" in output and "no heartbeat under" in output
    worker = Worker(**worker_settings(settings, ctx=FAST_CTX), poll_delay=0.05, handle_signals=False)
    task = asyncio.create_task(worker.main())
    try:
        async with asyncio.timeout(20):  # the first heartbeat comes with the first poll
            while not (check := await check_worker(settings)).ok:
                await asyncio.sleep(0.1)
        assert check.detail.startswith("alive: ") and "j_complete=0" in check.detail
        redis = Redis.from_url(settings.redis_url)
        try:
            left = await redis.pttl(heartbeat_key())
        finally:
            await redis.aclose()
        assert 0 < left <= (HEARTBEAT_SECONDS + 1) * 1000, "a worker that dies lets it lapse"
        assert not (await check_worker(settings, host="another-host")).ok, "each host has its own"
        code, output = await asyncio.to_thread(probe)
        assert code == 0 and "ok    worker" in output and "ok    docker" in output, output
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await worker.close()
    gone = await check_worker(settings)
    assert not gone.ok and f"no heartbeat under {heartbeat_key()}" in gone.detail
