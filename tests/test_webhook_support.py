"""Helpers for the receiver's tests: GitHub-style signing, the arq queue's contents, a live uvicorn server."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import redis
import uvicorn
from starlette.types import ASGIApp

from app.settings import Settings
from app.web.server import uvicorn_config
from tests.conftest import WEBHOOK_SECRET, free_port

ARQ_QUEUE = "arq:queue"
ARQ_JOB_PREFIX = "arq:job:"


def signature(body: bytes, secret: str = WEBHOOK_SECRET, algorithm: str = "sha256") -> str:
    """Computed here with hmac, independently of the code under test."""
    return f"{algorithm}=" + hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def github_headers(body: bytes, event: str, delivery: str | None = None) -> dict[str, str]:
    """The headers GitHub sends with a delivery."""
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature(body),
    }


def queued_job_ids(redis_url: str) -> list[str]:
    """Job ids in arq's queue, checked against their job records."""
    client = redis.Redis.from_url(redis_url)
    try:
        members = cast(list[bytes], client.zrange(ARQ_QUEUE, 0, -1))
        keys = cast(list[bytes], client.keys(ARQ_JOB_PREFIX + "*"))
    finally:
        client.close()
    ids = [member.decode() for member in members]
    records = sorted(key.decode().removeprefix(ARQ_JOB_PREFIX) for key in keys)
    assert sorted(ids) == records, "the arq queue and its job records disagree"
    return ids


@contextmanager
def live_server(app: ASGIApp, settings: Settings | None = None) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port in a thread; yields the base URL.

    With `settings`, the server is configured exactly as `steward serve` configures it (read deadlines).
    """
    port = free_port()
    if settings is not None:
        config = uvicorn_config(app, settings, "127.0.0.1", port, log_level="warning", lifespan="on")
    else:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def accepted(response: Any) -> dict[str, Any]:
    """What a 202 says in its X-Steward-* headers (it has no body): outcome, then jobs or reason."""
    assert response.status_code == 202, (response.status_code, response.text)
    assert response.content == b"", response.content
    said: dict[str, Any] = {"outcome": response.headers["x-steward-outcome"]}
    if "x-steward-jobs" in response.headers:
        said["jobs"] = response.headers["x-steward-jobs"].split(",")
    if "x-steward-reason" in response.headers:
        said["reason"] = response.headers["x-steward-reason"]
    return said
