"""Redis down: a well-signed delivery gets 503 with Retry-After and is logged; service resumes with Redis."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from app.web.app import create_app
from tests.conftest import WEBHOOK_EXAMPLES, RedisServer, command_comment
from tests.test_webhook_support import accepted, encode, github_headers, queued_job_ids

BODY = encode(command_comment())


@pytest.fixture
def outage(redis_server: RedisServer, redis_url: str) -> Iterator[RedisServer]:
    """Redis for this test, restarted afterwards whatever happens."""
    try:
        yield redis_server
    finally:
        if redis_server.proc is None:
            redis_server.start()


def _post(client: TestClient, delivery: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Status, headers, and what it said: the JSON error of a refusal, or a 202's X-Steward-* headers."""
    response = client.post("/webhooks", content=BODY, headers=github_headers(BODY, "issue_comment", delivery))
    said = accepted(response) if response.status_code == 202 else response.json()
    return response.status_code, dict(response.headers), said


def test_outage_then_recovery_without_restarting_the_app(
    settings: Settings, outage: RedisServer, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(create_app(settings)) as client:
        assert _post(client, "before")[0] == 202
        assert client.get("/readyz").status_code == 200
        outage.stop()
        with caplog.at_level(logging.ERROR, logger="steward.web"):
            status, headers, body = _post(client, "during-outage")
        assert status == 503
        assert int(headers["retry-after"]) > 0
        assert "error" in body
        assert any("delivery=during-outage" in r.getMessage() for r in caplog.records)
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
        outage.start()
        status, _, body = _post(client, "during-outage")  # GitHub's redelivery
        assert status == 202
        assert body["jobs"] == queued_job_ids(redis_url)
        assert client.get("/readyz").status_code == 200


def test_app_starts_while_redis_is_down(settings: Settings, outage: RedisServer, redis_url: str) -> None:
    outage.stop()
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503
        assert _post(client, "early")[0] == 503
        outage.start()
        assert client.get("/readyz").status_code == 200
        status, _, body = _post(client, "early")
        assert status == 202
        assert body["jobs"] == queued_job_ids(redis_url)


def test_ignored_events_are_acknowledged_even_while_redis_is_down(
    settings: Settings, outage: RedisServer
) -> None:
    body = (WEBHOOK_EXAMPLES / "ping" / "payload.json").read_bytes()
    with TestClient(create_app(settings)) as client:
        outage.stop()
        response = client.post("/webhooks", content=body, headers=github_headers(body, "ping"))
    assert accepted(response) == {"outcome": "ignored", "reason": "Steward does not act on ping"}
