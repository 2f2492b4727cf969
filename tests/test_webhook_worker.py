"""Jobs the receiver writes are real arq jobs: a real arq worker runs them with the documented kwargs."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from arq.connections import RedisSettings, create_pool
from arq.worker import Worker, func
from fastapi.testclient import TestClient

from app.events import IssueCommentEvent, PullRequestEvent
from app.settings import Settings
from app.web.app import create_app
from tests.conftest import command_comment, load_payload
from tests.test_webhook_support import encode, github_headers

pytestmark = pytest.mark.anyio


async def test_arq_worker_runs_what_the_receiver_enqueued(
    settings: Settings, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    comment = command_comment()
    opened = load_payload("pull_request", "opened")
    with TestClient(create_app(settings)) as client:
        for event, payload in (("issue_comment", comment), ("pull_request", opened)):
            body = encode(payload)
            answer = client.post("/webhooks", content=body, headers=github_headers(body, event, f"d-{event}"))
            assert answer.status_code == 202, answer.text

    ran: list[tuple[str, str, dict[str, Any]]] = []

    async def handle_comment(ctx: dict[str, Any], **kwargs: Any) -> None:
        ran.append(("handle_comment", ctx["job_id"], kwargs))

    async def triage_duplicates(ctx: dict[str, Any], **kwargs: Any) -> None:
        ran.append(("triage_duplicates", ctx["job_id"], kwargs))

    async def check_config(ctx: dict[str, Any], **kwargs: Any) -> None:
        ran.append(("check_config", ctx["job_id"], kwargs))

    redis_settings = RedisSettings.from_dsn(redis_url)
    worker = Worker(
        functions=[
            func(handle_comment, name="handle_comment"),
            func(triage_duplicates, name="triage_duplicates"),
            func(check_config, name="check_config"),
        ],
        redis_settings=redis_settings,
        burst=True,
        poll_delay=0.01,
        handle_signals=False,
    )
    try:
        assert await worker.run_check() == 3
    finally:
        await worker.close()

    # The receiver logs a queued delivery at DEBUG only: at INFO the worker names each job's delivery id as it
    # starts it (arq's own line, its kwargs sorted, so delivery_id comes first and survives arq's truncation).
    started = [r.getMessage() for r in caplog.records if r.name == "arq.worker" and "→" in r.getMessage()]
    for delivery in ("d-issue_comment", "d-pull_request"):
        assert any(f"delivery_id='{delivery}'" in line for line in started), started
    by_function = {name: (job_id, kwargs) for name, job_id, kwargs in ran}
    job_id, kwargs = by_function["handle_comment"]
    assert job_id == f"comment:{comment['repository']['id']}:{comment['comment']['id']}"
    assert kwargs["delivery_id"] == "d-issue_comment"
    assert IssueCommentEvent.model_validate(kwargs["event"]).comment.id == comment["comment"]["id"]
    job_id, kwargs = by_function["triage_duplicates"]
    assert job_id == f"triage:{opened['repository']['id']}:{opened['number']}"
    assert kwargs["kind"] == "pull_request"
    assert PullRequestEvent.model_validate(kwargs["event"]).pull_request.number == opened["number"]

    # A finished job keeps its result for a while: a fresh delivery of the same comment adds nothing.
    pool = await create_pool(redis_settings)
    try:
        assert await pool.zcard("arq:queue") == 0
        assert await pool.exists(
            f"arq:result:comment:{comment['repository']['id']}:{comment['comment']['id']}"
        )
    finally:
        await pool.aclose()
    with TestClient(create_app(settings)) as client:
        body = encode(comment)
        again = client.post("/webhooks", content=body, headers=github_headers(body, "issue_comment", "d-new"))
    assert again.status_code == 202
    pool = await create_pool(redis_settings)
    try:
        assert await pool.zcard("arq:queue") == 0
    finally:
        await pool.aclose()
