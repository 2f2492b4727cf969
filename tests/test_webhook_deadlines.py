"""Read deadlines against a real uvicorn server: a client that is slow with its headers or body is cut off."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.settings import Settings
from app.web.app import create_app
from tests.conftest import command_comment
from tests.test_webhook_support import encode, github_headers, live_server

HEADER_SECONDS = 1.0
BODY_SECONDS = 1.5
SLACK = 2.0
"""Seconds past a deadline the server may take to close (a busy machine); far below the old "never"."""
WATCH = HEADER_SECONDS + BODY_SECONDS + 5 * SLACK
"""How long a test watches one connection at most."""


@pytest.fixture
def base(settings: Settings) -> Iterator[str]:
    bounded = settings.model_copy(
        update={"header_timeout_seconds": HEADER_SECONDS, "body_timeout_seconds": BODY_SECONDS}
    )
    with live_server(create_app(bounded), bounded) as url:
        yield url


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def lifetime(port: int, first: bytes, drip: bytes = b"", every: float = 0.25) -> tuple[float, bytes]:
    """Send `first`, then `drip` every `every` seconds; seconds until the server closes, and all it sent."""
    said = b""
    with socket.create_connection(("127.0.0.1", port), timeout=every) as sock:
        started = time.monotonic()
        sock.sendall(first)
        while time.monotonic() - started < WATCH:
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                if drip:
                    try:
                        sock.sendall(drip)
                    except OSError:
                        break
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            said += chunk
        return time.monotonic() - started, said


def head(length: int, headers: dict[str, str], path: str = "/webhooks") -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    return ("\r\n".join([*lines, *(f"{k}: {v}" for k, v in headers.items())]) + "\r\n\r\n").encode()


def test_slowloris_connections_are_closed_at_the_header_deadline(base: str) -> None:
    start = b"POST /webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    with ThreadPoolExecutor(5) as pool:
        results = list(pool.map(lambda _: lifetime(_port(base), start, b"X-a: b\r\n"), range(5)))
    for seconds, said in results:
        assert HEADER_SECONDS - 0.2 <= seconds < HEADER_SECONDS + SLACK, results
        assert said.startswith(b"HTTP/1.1 408 "), said


def test_a_connection_that_sends_nothing_is_closed(base: str) -> None:
    seconds, said = lifetime(_port(base), b"")
    assert seconds < HEADER_SECONDS + SLACK
    assert said.startswith(b"HTTP/1.1 408 ")


@pytest.mark.parametrize("drip", [b"", b"x"], ids=["stalled", "trickling"])
def test_a_slow_body_gets_408_and_the_connection_closes(base: str, drip: bytes) -> None:
    body = b"x" * 1000
    seconds, said = lifetime(
        _port(base), head(len(body), github_headers(body, "issue_comment")) + body[:10], drip
    )
    assert BODY_SECONDS - 0.2 <= seconds < BODY_SECONDS + SLACK
    assert said.startswith(b"HTTP/1.1 408 "), said


def test_a_route_that_never_reads_its_body_still_gets_cut_off(base: str) -> None:
    """/healthz answers 405 to a POST without reading it: the body deadline still ends the connection."""
    seconds, said = lifetime(_port(base), head(1000, {}, "/healthz") + b"x" * 10, b"x")
    assert seconds < BODY_SECONDS + SLACK
    assert said.startswith(b"HTTP/1.1 405 ")


def test_prompt_clients_are_not_affected(base: str) -> None:
    """Headers sent in pieces within the deadline; then, on the same kept-alive connection, a pause longer
    than the header deadline (idle time is the keep-alive timeout's business) and a second delivery."""
    with socket.create_connection(("127.0.0.1", _port(base)), timeout=WATCH) as sock:
        for pause in (HEADER_SECONDS / 2, HEADER_SECONDS * 1.5):
            body = encode(command_comment())
            request = head(len(body), github_headers(body, "issue_comment")) + body
            sock.sendall(request[:20])
            time.sleep(HEADER_SECONDS / 2)
            sock.sendall(request[20:])
            assert sock.recv(4096).startswith(b"HTTP/1.1 202 ")
            time.sleep(pause)
