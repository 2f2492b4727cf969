"""A redelivered webhook is acknowledged without a second job, even after a crash before it was marked."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import cast

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from app.constants import DELIVERY_KEY_PREFIX, DELIVERY_TTL_SECONDS
from app.router import JobSpec
from app.settings import Settings
from app.web.app import create_app
from app.web.queue import ENQUEUE_ONCE_SHA, Queue
from tests.conftest import command_comment, load_payload
from tests.test_webhook_support import accepted, encode, github_headers, live_server, queued_job_ids


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def test_redelivery_is_acknowledged_and_not_enqueued_again(client: TestClient, redis_url: str) -> None:
    body = encode(command_comment())
    headers = github_headers(body, "issue_comment", delivery="d-1")
    first = client.post("/webhooks", content=body, headers=headers)
    again = client.post("/webhooks", content=body, headers=headers)
    assert first.status_code == 202
    assert accepted(first)["jobs"] == queued_job_ids(redis_url)
    assert again.status_code == 202
    assert accepted(again) == {"outcome": "duplicate"}
    assert len(queued_job_ids(redis_url)) == 1
    ttl = cast(int, redis.Redis.from_url(redis_url).ttl(DELIVERY_KEY_PREFIX + "d-1"))
    assert 0 < ttl <= DELIVERY_TTL_SECONDS


def test_same_comment_in_two_deliveries_makes_one_job(client: TestClient, redis_url: str) -> None:
    body = encode(command_comment())
    for delivery in ("d-1", "d-2"):
        response = client.post(
            "/webhooks", content=body, headers=github_headers(body, "issue_comment", delivery)
        )
        assert response.status_code == 202
    assert len(queued_job_ids(redis_url)) == 1


def test_crash_between_enqueue_and_mark_loses_nothing_and_doubles_nothing(
    client: TestClient, redis_url: str
) -> None:
    body = encode(load_payload("pull_request", "opened"))
    headers = github_headers(body, "pull_request", delivery="d-crash")
    assert client.post("/webhooks", content=body, headers=headers).status_code == 202
    first = sorted(queued_job_ids(redis_url))
    assert [job.split(":")[0] for job in first] == ["config-check", "triage"]  # two handlers, one job each
    redis.Redis.from_url(redis_url).delete(DELIVERY_KEY_PREFIX + "d-crash")  # as if the process died here
    again = client.post("/webhooks", content=body, headers=headers)
    assert again.status_code == 202
    assert sorted(queued_job_ids(redis_url)) == first
    assert redis.Redis.from_url(redis_url).exists(DELIVERY_KEY_PREFIX + "d-crash")


def test_ignored_events_touch_nothing(client: TestClient, redis_url: str) -> None:
    body = encode(load_payload("issue_comment", "edited"))
    response = client.post("/webhooks", content=body, headers=github_headers(body, "issue_comment", "d-3"))
    assert response.status_code == 202
    assert accepted(response) == {
        "outcome": "ignored",
        "reason": "Steward does not act on issue_comment.edited",
    }
    assert queued_job_ids(redis_url) == []


@pytest.mark.anyio
async def test_concurrent_deliveries_and_redeliveries_each_count_once(
    settings: Settings, redis_url: str
) -> None:
    payload = command_comment()
    requests = []
    for n in range(30):
        payload["comment"]["id"] = 1_000 + n
        body = encode(payload)
        headers = github_headers(body, "issue_comment", delivery=f"burst-{n}")
        requests += [(body, headers), (body, headers)]  # each delivery twice, at the same time
    with live_server(create_app(settings)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            answers = await asyncio.gather(
                *(http.post("/webhooks", content=body, headers=headers) for body, headers in requests)
            )
    assert {a.status_code for a in answers} == {202}
    bodies = [accepted(a) for a in answers]
    assert sum(b["outcome"] == "queued" for b in bodies) == 30
    assert sum(b == {"outcome": "duplicate"} for b in bodies) == 30
    assert sorted(queued_job_ids(redis_url)) == sorted(
        f"comment:{payload['repository']['id']}:{1_000 + n}" for n in range(30)
    )


@pytest.mark.anyio
async def test_one_batch_with_repeats_enqueues_each_delivery_once(redis_url: str) -> None:
    queue = Queue(redis_url)
    try:
        fresh = await asyncio.gather(
            *(
                queue.enqueue(f"d-{n % 10}", [JobSpec("handle_comment", f"comment:1:{n % 10}")])
                for n in range(40)
            )
        )
    finally:
        await queue.close()
    assert fresh.count(True) == 10
    assert sorted(queued_job_ids(redis_url)) == sorted(f"comment:1:{n}" for n in range(10))


@pytest.mark.anyio
async def test_a_flushed_script_cache_loses_no_delivery_and_doubles_none(redis_url: str) -> None:
    """The edge calls its Lua script by SHA; after SCRIPT FLUSH (or a Redis restart) it must still run it."""
    queue = Queue(redis_url)
    admin = redis.Redis.from_url(redis_url)
    try:
        assert await queue.enqueue("d-before", [JobSpec("handle_comment", "comment:1:1")])
        admin.script_flush()
        fresh = await asyncio.gather(
            queue.enqueue("d-before", [JobSpec("handle_comment", "comment:1:1")]),
            queue.enqueue("d-after", [JobSpec("handle_comment", "comment:1:2")]),
        )
        assert admin.script_exists(ENQUEUE_ONCE_SHA.decode()) == [True]
    finally:
        admin.close()
        await queue.close()
    assert list(fresh) == [False, True]
    assert sorted(queued_job_ids(redis_url)) == ["comment:1:1", "comment:1:2"]


def test_a_write_that_fails_leaves_the_delivery_unmarked_so_a_redelivery_is_retried(
    client: TestClient, redis_url: str
) -> None:
    """Redis does not roll a script back: the delivery is marked only after its jobs are written."""
    body = encode(command_comment())
    headers = github_headers(body, "issue_comment", delivery="d-wrongtype")
    admin = redis.Redis.from_url(redis_url)
    try:
        admin.set("arq:queue", "not a sorted set")  # ZADD fails with WRONGTYPE inside the script
        assert client.post("/webhooks", content=body, headers=headers).status_code == 503
        assert not admin.exists(DELIVERY_KEY_PREFIX + "d-wrongtype")
        admin.delete("arq:queue")
        again = client.post("/webhooks", content=body, headers=headers)
        assert admin.exists(DELIVERY_KEY_PREFIX + "d-wrongtype")
    finally:
        admin.close()
    assert accepted(again)["outcome"] == "queued"  # retried, not answered as a duplicate
