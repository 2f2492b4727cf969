"""A throwaway PostgreSQL cluster for the ledger's tests, or the one STEWARD_TEST_POSTGRES_URL names."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from tests.conftest import free_port

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
ENV_URL = "STEWARD_TEST_POSTGRES_URL"
ENV_SKIP = "STEWARD_TEST_SKIP_POSTGRES"
DB_USER = "steward"


def _bin(name: str) -> str | None:
    for folder in PG_BIN_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    return shutil.which(name)


class Cluster:
    """initdb + pg_ctl in a temp dir, loopback only, trust auth, stopped at interpreter exit."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="steward-pg-"))
        self.data = self.root / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            shutil.chown(self.root, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self, initdb: str, pg_ctl: str) -> None:
        self._run(initdb, "-D", str(self.data), "-U", DB_USER, "--auth=trust", "-E", "UTF8", "--no-sync")
        self.resume(pg_ctl)
        atexit.register(self.stop, pg_ctl)

    def resume(self, pg_ctl: str) -> None:
        """Start the server on its data directory (again, after `halt`: the fault tests' outage)."""
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        self._run(pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def halt(self, pg_ctl: str) -> None:
        """Stop the server, keeping its data (its clients' connections are cut)."""
        self._run(pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self, pg_ctl: str) -> None:
        subprocess.run(
            [*self.as_user, pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{DB_USER}@127.0.0.1:{self.port}/postgres"


_cluster: Cluster | None = None


def server_url() -> str:
    """The admin URL of a PostgreSQL server: the configured one, or a private cluster started once."""
    global _cluster
    if os.environ.get(ENV_URL):
        return os.environ[ENV_URL].replace("postgresql://", "postgresql+asyncpg://", 1)
    if os.environ.get(ENV_SKIP) == "1":
        pytest.skip(f"PostgreSQL tests skipped ({ENV_SKIP}=1)")
    if _cluster is None:
        initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            pytest.fail(
                "PostgreSQL is not installed (no initdb/pg_ctl): `apt-get install postgresql`, or set "
                f"{ENV_URL} to a server, or {ENV_SKIP}=1 to skip these tests"
            )
        cluster = Cluster()
        cluster.start(initdb, pg_ctl)
        _cluster = cluster
    return _cluster.url


async def _create_database(dsn: str, name: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def fresh_database(admin_url: str) -> str:
    """A new empty database on that server, so every test starts clean."""
    name = f"steward_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_create_database(admin_url.replace("postgresql+asyncpg://", "postgresql://", 1), name))
    base, _, _ = admin_url.partition("?")[0].rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty ledger database: SQLite, then PostgreSQL (import this into the test module)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}"
    return fresh_database(server_url())


@pytest.fixture
def own_postgres() -> Iterator[tuple[Cluster, str]]:
    """A private PostgreSQL server a fault test may stop and start (the session's shared one stays up); with
    its pg_ctl. Import it into the test module."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.fail("PostgreSQL is not installed (no initdb/pg_ctl): `apt-get install postgresql`")
    cluster = Cluster()
    cluster.start(initdb, pg_ctl)
    try:
        yield cluster, pg_ctl
    finally:
        cluster.stop(pg_ctl)
