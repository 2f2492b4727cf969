"""Each stored vector records the model that made it (migration 0015, SQLite and PostgreSQL); a vector of
another model is not compared, `steward doctor` counts it, `steward duplicates reembed` replaces it; and
embedding runs off the event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import select, text, update

from app.github.protocol import IssueRecord
from app.settings import Settings
from jobs.db import _alembic_config, make_engine, migrate, sessions
from jobs.doctor import check_vectors
from jobs.duplicates import reembed, semantic, store
from jobs.duplicates.live import IndexCache
from jobs.models.issue_index import IssueIndexRow
from tests.postgres import db_url  # noqa: F401  (the fixture, parametrized over both databases)

pytestmark = pytest.mark.anyio
available, why = semantic.embeddings_available()
needs_model = pytest.mark.skipif(not available, reason=why)


def _row(number: int, embedding: bytes | None) -> dict[str, object]:
    return {
        "repo": "o/r", "number": number, "kind": "issue", "title": f"t{number}", "body": "b", "state": "open",
        "labels": "[]", "author": "a", "html_url": "", "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        "tokens": "t", "token_count": 1, "embedding": embedding, "revision": 1,
    }  # fmt: skip


async def test_vectors_stored_before_0015_are_recorded_as_the_model_that_made_them(
    db_url: str,  # noqa: F811
) -> None:
    engine = make_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(_alembic_config(c), "0014"))
            fields = _row(0, None)
            old = sa.table("issue_index", *(sa.column(name) for name in fields))  # the schema of 0014
            for number, blob in ((1, bytes(semantic.EMBEDDING_DIM * 2)), (2, None)):
                await conn.execute(old.insert().values(_row(number, blob)))
        await migrate(engine)
        async with engine.connect() as conn:
            got = dict((await conn.execute(text("SELECT number, embedding_model FROM issue_index"))).all())
        assert got == {1: "all-MiniLM-L6-v2/256", 2: ""}
        await migrate(engine)  # again: nothing changes
    finally:
        await engine.dispose()


def _record(number: int, title: str) -> IssueRecord:
    return IssueRecord(
        number=number, title=title, body="Saving a file crashes the editor.", state="open",
        is_pull_request=False, author="octocat", html_url=f"https://github.com/o/r/issues/{number}",
        created_at=f"2026-01-0{number}T00:00:00Z",
    )  # fmt: skip


@needs_model
async def test_other_models_vectors_are_ignored_counted_and_replaced(db_url: str) -> None:  # noqa: F811
    engine = make_engine(db_url)
    await migrate(engine)
    db = sessions(engine)
    try:
        await store.upsert_items(db, "o/r", [_record(1, "Crash on save"), _record(2, "Editor dies on save")])
        async with db() as session:
            models = set(await session.scalars(select(IssueIndexRow.embedding_model)))
        assert models == {semantic.model_id()}
        assert await reembed.other_models(db) == {}
        # As if another model (or word-piece limit) had made item 1's vector: a different, wrong vector.
        wrong = semantic.to_blob(np.eye(semantic.EMBEDDING_DIM, dtype=np.float32)[0])
        async with db.begin() as session:
            await session.execute(
                update(IssueIndexRow)
                .where(IssueIndexRow.number == 1)
                .values(embedding=wrong, embedding_model="other-model/128")
            )
        assert await reembed.other_models(db) == {"other-model/128": 1}
        snap = await IndexCache(db).snapshot("o/r", True)
        vectors = snap.base.corpus.vectors
        assert vectors is not None
        row_of = snap.base.positions
        assert not vectors[row_of[1]].any()  # not compared: read as missing
        assert vectors[row_of[2]].any()

        settings = Settings(database_url=db_url)  # type: ignore[call-arg]
        check = await check_vectors(settings)
        assert not check.ok and not check.required
        assert "1 from other-model/128" in check.detail and "reembed" in check.fix

        assert await reembed.reembed(db) == 1  # only the stale one
        assert await reembed.other_models(db) == {}
        row = await store.get_item(db, "o/r", 1)
        assert row is not None and row.embedding is not None and row.embedding_model == semantic.model_id()
        expected = semantic.embed([store.embedded_text(row.title, row.body)])[0]
        assert float(semantic.from_blob(row.embedding) @ expected) > 0.99
        assert (await check_vectors(settings)).ok
    finally:
        await engine.dispose()


async def test_embedding_runs_in_a_thread_so_the_event_loop_keeps_answering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A backfill page's embedding takes seconds: the loop must keep waking other tasks meanwhile."""
    loop_thread = threading.get_ident()
    seen: list[int] = []

    def slow_embed(texts: list[str]) -> np.ndarray:
        seen.append(threading.get_ident())
        time.sleep(0.5)  # CPU-bound work in the real model; torch releases the GIL like sleep does
        return np.ones((len(texts), semantic.EMBEDDING_DIM), dtype=np.float32)

    monkeypatch.setattr(semantic, "embed", slow_embed)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    blobs = await store.embed_off_loop(["a", "b"])
    task.cancel()
    assert len(blobs) == 2 and seen and seen[0] != loop_thread
    assert ticks >= 20  # ~50 in 0.5 s; on the loop it would have been 0
