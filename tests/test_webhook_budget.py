"""The receiver's memory budget: bytes of bodies held at once across requests, on a real uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from pydantic import ValidationError

from app.settings import Settings
from app.web.app import WebhookEdge, create_app
from app.web.body import BodyBudget, OverBudget, read_signed_body
from tests.conftest import command_comment
from tests.test_webhook_support import encode, github_headers, live_server, signature

SIZE = 1024 * 1024
"""About the size of each large delivery here."""


def large_delivery(n: int) -> tuple[bytes, dict[str, str]]:
    body = encode(command_comment(f"/steward help {n}\n" + "a long comment line\n" * (SIZE // 20)))
    return body, github_headers(body, "issue_comment")


def until(check: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def budgeted(settings: Settings) -> Iterator[tuple[str, BodyBudget]]:
    """A live server whose budget holds two large deliveries at once, not three."""
    small = settings.model_copy(
        update={
            "max_body_bytes": 2 * SIZE,
            "max_bodies_in_flight_bytes": int(2.5 * len(large_delivery(0)[0])),
        }
    )
    app = create_app(small)
    with live_server(app, small) as base:
        assert isinstance(app, WebhookEdge)
        yield base, app.api.state.edge.budget


def test_budget_shares_are_given_back_and_never_overdrawn() -> None:
    budget = BodyBudget(100)
    with budget.hold() as first:
        first.grow_to(60)
        with pytest.raises(OverBudget), budget.hold() as second:
            second.grow_to(30)
            assert budget.held == 90
            second.grow_to(50)  # 60 + 50 > 100: refused, and the 30 already held stay held until the end
        assert budget.held == 60
        first.grow_to(40)  # never shrinks
        assert budget.held == 60
    assert budget.held == 0


def test_a_delivery_past_the_budget_gets_503_before_its_body_is_read(
    budgeted: tuple[str, BodyBudget],
) -> None:
    base, budget = budgeted
    port = int(base.rsplit(":", 1)[1])
    waiting = []
    for n in range(2):  # two deliveries hold their declared length while their bodies are on the way
        body, headers = large_delivery(n)
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        lines = ["POST /webhooks HTTP/1.1", "Host: x", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body[:1000])
        waiting.append((sock, body))
        until(lambda held=(n + 1) * len(body): budget.held >= held)  # type: ignore[misc]
    body, headers = large_delivery(3)
    refused = httpx.post(f"{base}/webhooks", content=body, headers=headers, timeout=30)
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "30"
    assert "close" not in refused.headers.get("connection", "")  # the client reads its 503 whole
    assert "too many large deliveries" in refused.json()["error"]
    for sock, body in waiting:
        with sock:
            sock.sendall(body[1000:])
            assert sock.recv(4096).startswith(b"HTTP/1.1 202 ")
    until(lambda: budget.held == 0)
    again = httpx.post(
        f"{base}/webhooks", content=body, headers=github_headers(body, "issue_comment"), timeout=30
    )
    assert again.status_code == 202


@pytest.mark.anyio
async def test_a_body_without_length_is_held_as_it_arrives() -> None:
    """Chunked, with no Content-Length to hold up front: each chunk is held as it comes, refused past it."""
    budget = BodyBudget(1000)
    chunks = [b"x" * 300] * 3 + [b"y" * 300]
    body = b"".join(chunks)

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks[1:])}

    headers = {b"x-hub-signature-256": signature(body, "s").encode()}
    with budget.hold() as other:
        other.grow_to(500)
        with pytest.raises(OverBudget), budget.hold() as held:
            await read_signed_body(receive, headers, b"s", 10_000, held)
        assert budget.held == 500 and len(chunks) == 2  # refused at the second chunk: 500 + 600 > 1000
    assert budget.held == 0


def test_many_concurrent_large_bodies_stay_within_the_budget(budgeted: tuple[str, BodyBudget]) -> None:
    base, budget = budgeted
    most = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal most
        while not done.is_set():
            most = max(most, budget.held)
            time.sleep(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    deliveries = [large_delivery(n) for n in range(8)]
    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(
                    lambda d: httpx.post(f"{base}/webhooks", content=d[0], headers=d[1], timeout=30),
                    deliveries,
                )
            )
    finally:
        done.set()
        watcher.join()
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {202, 503}, statuses
    assert 202 in statuses
    assert all(a.headers["retry-after"] == "30" for a in answers if a.status_code == 503)
    assert 0 < most <= budget.limit
    until(lambda: budget.held == 0)


def test_a_budget_below_one_body_is_refused(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="STEWARD_MAX_BODIES_IN_FLIGHT_BYTES must be at least"):
        Settings(webhook_secret="x", max_body_bytes=10_000, max_bodies_in_flight_bytes=9_999)
