"""Missed deliveries are recovered: GitHub's delivery list (shaped like `GET /app/hook/deliveries`, by cursor)
mocked with respx, the ledger a real SQLite or PostgreSQL database, the cron lock on a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from arq import Worker, create_pool
from arq.utils import to_unix_ms
from sqlalchemy import select

from app.settings import Settings
from jobs.db import make_engine, migrate, sessions
from jobs.doctor import check_schedule
from jobs.models.redeliveries import RedeliveryRow
from jobs.scheduled import cron_jobs, next_runs
from jobs.scheduled.redeliver import NAME, recover, recover_deliveries
from tests.github_mock import API
from tests.postgres import db_url  # noqa: F401  (the fixture, over SQLite and PostgreSQL)

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def attempt(
    number: int,
    guid: str,
    *,
    minutes_ago: int,
    code: int,
    redelivery: bool = False,
    event: str = "issues",
    at: datetime = NOW,
) -> dict[str, Any]:
    """One attempt, with every field GitHub lists (docs.github.com/rest/apps/webhooks)."""
    status = {200: "OK", 202: "OK", 0: "timed out"}.get(code, f"Invalid HTTP Response: {code}")
    return {
        "id": number,
        "guid": guid,
        "delivered_at": (at - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "redelivery": redelivery,
        "duration": 0.27,
        "status": status,
        "status_code": code,
        "event": event,
        "action": "opened",
        "installation_id": 1,
        "repository_id": 186853002,
        "throttled_at": None,
    }


class Deliveries:
    """GitHub's side: the list, served in pages of `page_size` behind cursors, and the redelivery requests."""

    def __init__(self, items: list[dict[str, Any]], page_size: int = 100) -> None:
        self.items = items  # newest first, as GitHub lists them
        self.page_size = page_size
        self.pages_served = 0
        self.asked: list[int] = []
        self.auth: list[str] = []
        self.refuse: set[int] = set()

    def listed(self, request: httpx.Request) -> httpx.Response:
        self.pages_served += 1
        self.auth.append(request.headers.get("authorization", ""))
        start = int(request.url.params.get("cursor", "0"))
        chunk = self.items[start : start + self.page_size]
        headers = {}
        if start + self.page_size < len(self.items):
            nxt = f"{API}/app/hook/deliveries?per_page=100&cursor={start + self.page_size}"
            headers["link"] = f'<{nxt}>; rel="next"'
        return httpx.Response(200, json=chunk, headers=headers)

    def redeliver(self, request: httpx.Request) -> httpx.Response:
        number = int(request.url.path.split("/")[-2])
        if number in self.refuse:
            return httpx.Response(422, json={"message": "Validation Failed", "status": "422"})
        self.asked.append(number)
        return httpx.Response(202, json={})


@pytest.fixture
async def ledger(db_url: str) -> AsyncIterator[Any]:  # noqa: F811
    engine = make_engine(db_url)
    await migrate(engine)
    yield sessions(engine)
    await engine.dispose()


def mock(deliveries: Deliveries) -> respx.MockRouter:
    router = respx.mock(assert_all_called=False)
    router.get(url__regex=rf"{API}/app/hook/deliveries(\?.*)?$").mock(side_effect=deliveries.listed)
    router.post(url__regex=rf"{API}/app/hook/deliveries/\d+/attempts$").mock(side_effect=deliveries.redeliver)
    return router


async def rows(ledger: Any) -> dict[str, str]:
    async with ledger() as session:
        return {row.guid: row.outcome for row in (await session.scalars(select(RedeliveryRow))).all()}


async def test_only_failed_deliveries_never_delivered_are_asked_for(settings: Settings, ledger: Any) -> None:
    deliveries = Deliveries(
        [
            attempt(9, "g-later-ok", minutes_ago=1, code=202, redelivery=True),  # redelivered by hand: done
            attempt(8, "g-503", minutes_ago=5, code=503),  # Redis was down: Steward answered 503
            attempt(7, "g-ok", minutes_ago=6, code=202),
            attempt(6, "g-timeout", minutes_ago=7, code=0),  # the receiver was down
            attempt(5, "g-later-ok", minutes_ago=8, code=502),
            attempt(4, "g-bad-signature", minutes_ago=9, code=401),  # refused for good: not asked again
            attempt(3, "g-429", minutes_ago=10, code=429),  # asked to come back later
        ]
    )
    with mock(deliveries):
        summary = await recover(settings, ledger, now=NOW)
    assert deliveries.asked == [3, 6, 8]  # oldest first
    assert summary.startswith("7 attempts read, 3 missed: 3 redelivery requested")
    assert await rows(ledger) == {"g-429": "requested", "g-timeout": "requested", "g-503": "requested"}
    assert all(auth.startswith("Bearer ey") for auth in deliveries.auth)  # the App's JWT, not a token


async def test_the_same_delivery_is_never_asked_for_twice(settings: Settings, ledger: Any) -> None:
    deliveries = Deliveries([attempt(8, "g-503", minutes_ago=5, code=503)])
    with mock(deliveries):
        await recover(settings, ledger, now=NOW)
        # The redelivery failed too (Steward still down): GitHub lists a new attempt of the same guid.
        deliveries.items.insert(0, attempt(10, "g-503", minutes_ago=1, code=503, redelivery=True))
        summary = await recover(settings, ledger, now=NOW)
    assert deliveries.asked == [8]
    assert "1 asked before" in summary


async def test_pages_are_followed_and_bounded(settings: Settings, ledger: Any) -> None:
    items = [attempt(1000 - i, f"g-{i}", minutes_ago=i, code=503) for i in range(12)]
    deliveries = Deliveries(items, page_size=3)
    bounded = settings.model_copy(update={"redeliver_max_pages": 2, "redeliver_max_per_pass": 100})
    with mock(deliveries):
        summary = await recover(bounded, ledger, now=NOW)
    assert deliveries.pages_served == 2
    assert summary.startswith("6 attempts read, 6 missed")
    assert sorted(deliveries.asked) == [995, 996, 997, 998, 999, 1000]


async def test_a_pass_stops_at_the_lookback_window(settings: Settings, ledger: Any) -> None:
    items = [
        attempt(3, "g-new", minutes_ago=30, code=503),
        attempt(2, "g-old", minutes_ago=60 * 30, code=503),  # 30 hours ago: outside the 24 h window
        attempt(1, "g-older", minutes_ago=60 * 40, code=503),
    ]
    deliveries = Deliveries(items, page_size=2)
    with mock(deliveries):
        await recover(settings, ledger, now=NOW)
    assert deliveries.pages_served == 1
    assert deliveries.asked == [3]


async def test_at_most_n_per_pass_and_the_rest_next_time(settings: Settings, ledger: Any) -> None:
    items = [attempt(10 + i, f"g-{i}", minutes_ago=10 - i, code=503) for i in range(3)]
    deliveries = Deliveries(items)
    two = settings.model_copy(update={"redeliver_max_per_pass": 2})
    with mock(deliveries):
        first = await recover(two, ledger, now=NOW)
        second = await recover(two, ledger, now=NOW)
    assert "1 left for the next pass" in first
    assert deliveries.asked == [10, 11, 12]
    assert "1 redelivery requested" in second


async def test_a_refused_request_is_recorded_and_not_retried(settings: Settings, ledger: Any) -> None:
    deliveries = Deliveries([attempt(8, "g-503", minutes_ago=5, code=503)])
    deliveries.refuse.add(8)
    with mock(deliveries):
        assert "1 refused by GitHub" in await recover(settings, ledger, now=NOW)
        deliveries.refuse.clear()
        await recover(settings, ledger, now=NOW)
    assert deliveries.asked == []
    assert await rows(ledger) == {"g-503": "refused: 422"}


async def test_hostile_list_entries_are_skipped(settings: Settings, ledger: Any) -> None:
    good = attempt(8, "g-503", minutes_ago=5, code=503)
    junk: list[Any] = [
        None,
        "x",
        {"id": "8"},
        {"id": 9},
        {**good, "id": 7, "status_code": "503", "guid": "g-7"},
    ]
    deliveries = Deliveries([*junk, good])
    with mock(deliveries):
        await recover(settings, ledger, now=NOW)
    assert deliveries.asked == [7, 8]  # a non-integer status code counts as no answer


def test_the_pass_is_scheduled_every_few_minutes_and_listed_by_doctor(settings: Settings) -> None:
    settings = settings.model_copy(update={"redeliver_every_minutes": 5})  # the default (tests turn it off)
    assert Settings.model_fields["redeliver_every_minutes"].default == 5
    [job] = [job for job in cron_jobs(settings) if job.name == "recover_deliveries"]
    assert job.minute == set(range(0, 60, 5)) and job.unique
    [(_, when)] = [
        run for run in next_runs(settings, NOW + timedelta(minutes=1, seconds=5)) if run[0].name == NAME
    ]
    assert when is not None and (when.hour, when.minute) == (12, 5)
    [line] = [c for c in check_schedule(settings, NOW + timedelta(minutes=1)) if c.name == f"cron {NAME}"]
    assert "next run 2026-12-02 12:05 UTC" in line.line()
    off = settings.model_copy(update={"redeliver_every_minutes": 0})
    assert cron_jobs(off) == []  # the digest pass is off in tests too
    assert all("off" in check.line() for check in check_schedule(off))


async def test_two_workers_run_one_pass_per_period(settings: Settings, ledger: Any) -> None:
    """Both workers' cron fires for the same period; the job runs once. A second copy of it under another id
    (as if the queue's own guard were bypassed) finds the period's lock taken."""
    from jobs.worker import redis_settings

    # The cron runs on the clock: its delivery is dated from now, not NOW (a day on, it fell out of range)
    deliveries = Deliveries([attempt(8, "g-503", minutes_ago=5, code=503, at=datetime.now(UTC))])
    ran: list[tuple[str, str]] = []

    async def counted(ctx: dict[str, Any]) -> str:
        outcome = await recover_deliveries(ctx)
        ran.append((ctx["job_id"], outcome))
        return outcome

    settings = settings.model_copy(update={"redeliver_every_minutes": 5})
    period = datetime.now(UTC) - timedelta(seconds=1)  # a period that is due now, on both workers
    workers, pools = [], []
    for _ in range(2):
        [job] = [job for job in cron_jobs(settings) if job.name == NAME]
        job.coroutine, job.next_run = counted, period
        pools.append(await create_pool(redis_settings(settings)))
        workers.append(
            Worker(
                functions=[],
                cron_jobs=[job],
                redis_pool=pools[-1],
                ctx={"settings": settings, "sessions": ledger},
                burst=True,
                poll_delay=0.01,
                handle_signals=False,
            )
        )
    try:
        with mock(deliveries):
            for worker in workers:
                await worker.run_cron(datetime.now(UTC), delay=0.5)
            for worker in workers:
                await worker.run_check()
            assert len(ran) == 1, ran
            [(job_id, _)] = ran
            assert job_id == f"recover_deliveries:{to_unix_ms(period)}"  # one id per period
            copy = {"settings": settings, "sessions": ledger, "redis": pools[0], "job_id": job_id}
            assert await recover_deliveries(copy) == "another worker ran this period's pass"
    finally:
        for worker in workers:
            await worker.close()
        for pool in pools:
            await pool.aclose()
    assert deliveries.asked == [8]


@pytest.fixture(autouse=True)
def _app_settings(settings: Settings) -> Iterator[None]:
    assert settings.app_id is not None  # the pass authenticates as the App
    yield
