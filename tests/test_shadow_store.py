"""The shadow records on SQLite and PostgreSQL: one row per effect however often recorded, bounded bodies,
filters by repository, time, workflow and scope; the migration chain creates the table and runs.mode."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobs.db import make_engine, migrate, sessions
from jobs.ledger import Ledger
from jobs.ledger.views import utcnow
from jobs.shadow.store import BODY_MAX_CHARS, TRIAGE_SCOPE, Effect, record, records
from tests.postgres import db_url  # noqa: F401 (the SQLite and PostgreSQL fixture)

pytestmark = pytest.mark.anyio
REPO = "Codertocat/Hello-World"


async def test_records_converge_filter_and_bound(db_url: str) -> None:  # noqa: F811
    engine = make_engine(db_url)
    try:
        await migrate(engine)
        maker = sessions(engine)
        run = await Ledger(maker).create_run(REPO, 7, "docs", actor="maya", mode="shadow")
        assert run.mode == "shadow"
        assert (await Ledger(maker).create_run(REPO, 8, "docs", actor="maya")).mode == "normal"
        for body in ("first", "second"):
            await record(
                maker, Effect(REPO, 7, "docs", run.id, "comment", "<!-- steward:plan -->", body, {"n": body})
            )
        await record(
            maker, Effect(REPO, 7, "docs", run.id, "push", "steward/docs/7", "x" * (BODY_MAX_CHARS + 10))
        )
        await record(
            maker, Effect("other/repo", 3, "duplicates", TRIAGE_SCOPE, "suggestions", "", "", {"shown": [1]})
        )
        everything = await records(maker)
        assert [(r.kind, r.repo) for r in everything] == [
            ("comment", REPO),
            ("push", REPO),
            ("suggestions", "other/repo"),
        ]
        comment, push, _ = everything
        assert (comment.body, comment.data) == (
            "second",
            {"n": "second"},
        ) and comment.updated_at >= comment.created_at
        assert len(push.body) < BODY_MAX_CHARS + 100 and push.body.endswith("characters cut ...]")
        assert [r.kind for r in await records(maker, repo=REPO, workflow="docs", scope=run.id)] == [
            "comment",
            "push",
        ]
        assert await records(maker, since=utcnow() + timedelta(minutes=1)) == []
        assert len(await records(maker, limit=1)) == 1
    finally:
        await engine.dispose()
