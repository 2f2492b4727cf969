"""Two workers writing one real SQLite ledger at once: each process has its own engine (its own connection
and thread), so these tests give each writer its own engine on the same file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from app.github.protocol import IssueRecord
from jobs.db import make_engine, migrate
from jobs.db import sessions as make_sessions
from jobs.duplicates.store import Sessions, get_item, upsert_items
from jobs.models.issue_index import IssueIndexRow

pytestmark = pytest.mark.anyio

ROUNDS = 30


@pytest.fixture
async def two_writers(tmp_path: Path, lexical_only: None) -> AsyncIterator[tuple[Sessions, Sessions]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'steward.db'}"
    first, second = make_engine(url), make_engine(url)
    await migrate(first)
    try:
        yield make_sessions(first), make_sessions(second)
    finally:
        await first.dispose()
        await second.dispose()


def record(number: int, title: str) -> IssueRecord:
    return IssueRecord(
        number=number, title=title, body="body", state="open", is_pull_request=False, author="u"
    )


async def test_two_workers_indexing_the_same_new_items_at_once_both_succeed(
    two_writers: tuple[Sessions, Sessions],
) -> None:
    a, b = two_writers
    for n in range(ROUNDS):  # each round a new item both workers index at the same moment
        numbers = [1000 + 3 * n, 1001 + 3 * n, 1002 + 3 * n]
        await asyncio.gather(
            upsert_items(a, "o/r", [record(x, "from a") for x in numbers]),
            upsert_items(b, "o/r", [record(x, "from b") for x in numbers]),
        )
    async with a() as session:
        count = await session.scalar(select(func.count()).select_from(IssueIndexRow))
    assert count == 3 * ROUNDS  # one row per item, none lost, none doubled
    item = await get_item(b, "o/r", 1000)
    assert item is not None and item.title in ("from a", "from b")


async def test_a_writer_waits_for_another_writers_transaction_instead_of_failing(
    two_writers: tuple[Sessions, Sessions],
) -> None:
    a, b = two_writers
    held = asyncio.Event()

    async def long_write() -> None:
        async with a.begin() as session:
            await session.execute(text("CREATE TABLE IF NOT EXISTS probe (n INTEGER)"))
            await session.execute(text("INSERT INTO probe VALUES (1)"))
            held.set()
            await asyncio.sleep(1.0)  # a slow job holding the write lock for a second

    async def second_write() -> None:
        await held.wait()
        await upsert_items(b, "o/r", [record(7, "waited")])

    await asyncio.gather(long_write(), second_write())
    item = await get_item(a, "o/r", 7)
    assert item is not None and item.title == "waited"
    async with b() as session:
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert int((await session.execute(text("PRAGMA busy_timeout"))).scalar() or 0) >= 5000
