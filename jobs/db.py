"""The ledger's database: one declarative base, an engine factory, and migrations applied at start."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, MetaData, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

MIGRATIONS = Path(__file__).parent / "migrations"

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Every table of the ledger."""

    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets its folder created, foreign keys on and WAL for concurrent readers."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if url.startswith("sqlite"):

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=5000")
            # WAL with NORMAL sync: a crash of the process loses nothing; only a power cut may lose the last
            # commits. FULL (the default) would fsync on every commit.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic_config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    command.upgrade(_alembic_config(connection), "head")


MIGRATION_LOCK = 0x5354455741524431
"""PostgreSQL advisory lock key held while migrating ("STEWARD1"): one migrator at a time."""


@contextlib.asynccontextmanager
async def _sqlite_turn(engine: AsyncEngine) -> AsyncIterator[None]:
    """SQLite's migrators take turns by a lock file beside the database (SQLite lives on one host)."""
    path = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if not path or path == ":memory:":
        yield
        return
    fd = os.open(f"{path}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and with it the lock


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration: idempotent, and locked, so processes that start together
    (workers, `steward migrate`, `steward doctor`) take turns and whoever comes later finds it done."""
    async with _sqlite_turn(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # released when this transaction ends
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await conn.run_sync(_upgrade)
