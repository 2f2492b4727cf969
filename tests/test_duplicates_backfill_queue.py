"""Adding a repository queues its index backfill (real Redis, real arq), and a worker fills the index."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from arq.jobs import Job, JobStatus

from app.events import InstallationEvent, InstallationRepositoriesEvent
from app.settings import Settings
from jobs.db import make_engine, migrate, sessions
from jobs.duplicates import store
from jobs.handlers.installation import sync_installation
from tests.conftest import load_payload
from tests.github_mock import API, FakeGitHub
from tests.worker_support import run_burst

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("lexical_only")]


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[ArqRedis]:
    redis = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    try:
        yield redis
    finally:
        await redis.aclose()


@pytest.fixture
def history() -> Iterator[respx.MockRouter]:
    """Codertocat/Space has three issues, served two per page as GitHub paginates."""
    items: list[dict[str, Any]] = [
        {"number": n, "title": f"Issue {n}", "body": "text", "state": "open", "user": {"login": "octocat"},
         "labels": [], "html_url": f"https://github.com/Codertocat/Space/issues/{n}",
         "created_at": f"2024-01-0{n}T00:00:00Z"}
        for n in (1, 2, 3)
    ]  # fmt: skip

    def page(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("page", "1"))
        more = {"link": f'<{API}/repos/Codertocat/Space/issues?page={number + 1}>; rel="next"'}
        return httpx.Response(
            200, json=items[(number - 1) * 2 : number * 2], headers=more if number == 1 else {}
        )

    with respx.mock(base_url=API, assert_all_called=False) as router:
        FakeGitHub().install(router)
        router.get(path="/repos/Codertocat/Space/issues", name="issues").mock(side_effect=page)
        yield router


async def sync(settings: Settings, pool: ArqRedis, event_name: str, name: str, delivery: str) -> str:
    raw = load_payload(event_name, name)
    model = InstallationEvent if event_name == "installation" else InstallationRepositoriesEvent
    event = model.model_validate(raw).model_dump(mode="json")  # exactly what the receiver enqueues
    engine = make_engine(settings.db_url)
    await migrate(engine)
    try:
        ctx: dict[str, Any] = {"sessions": sessions(engine), "redis": pool, "settings": settings}
        return await sync_installation(ctx, delivery, event_name, event)
    finally:
        await engine.dispose()


async def test_added_repositories_queue_one_backfill_each(settings: Settings, pool: ArqRedis) -> None:
    summary = await sync(settings, pool, "installation_repositories", "added", "d1")
    assert summary.endswith("; 1 index backfills queued")
    job = Job("backfill:Codertocat/Space", pool)
    assert await job.status() == JobStatus.queued
    info = await job.info()
    assert info is not None and info.function == "backfill_index"
    assert info.kwargs == {"installation_id": 957387, "repo": "Codertocat/Space", "restart": False}
    again = await sync(settings, pool, "installation_repositories", "added", "d2")  # a redelivery
    assert "backfills queued" not in again
    assert len(await pool.queued_jobs()) == 1


async def test_a_created_installation_backfills_its_repositories(settings: Settings, pool: ArqRedis) -> None:
    await sync(settings, pool, "installation", "created", "c1")
    assert await Job("backfill:Codertocat/Hello-World", pool).status() == JobStatus.queued


@pytest.mark.parametrize(("event_name", "name"), [("installation", "suspend"), ("installation", "deleted"),
                                                   ("installation_repositories", "removed")])  # fmt: skip
async def test_other_events_queue_no_backfill(
    settings: Settings, pool: ArqRedis, event_name: str, name: str
) -> None:
    await sync(settings, pool, event_name, name, "x1")
    assert await pool.queued_jobs() == []


async def test_the_worker_fills_the_index_page_by_page(
    settings: Settings, pool: ArqRedis, history: respx.MockRouter
) -> None:
    await sync(settings, pool, "installation_repositories", "added", "d1")
    worker = await run_burst(settings)
    assert worker.jobs_failed == 0 and worker.jobs_complete == 1
    assert history["issues"].call_count == 2
    engine = make_engine(settings.db_url)
    try:
        for number in (1, 2, 3):
            row = await store.get_item(sessions(engine), "Codertocat/Space", number)
            assert row is not None and row.title == f"Issue {number}"
    finally:
        await engine.dispose()
