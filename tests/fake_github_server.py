"""A FakeGitHub served over real HTTP on 127.0.0.1, for worker processes that respx cannot reach."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import httpx
import respx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import free_port
from tests.github_mock import API, FakeGitHub

METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]
PASSED_HEADERS = ("content-type", "link")


class Faults(Protocol):
    """Answers GitHub gives instead of (or after) the fake's own: tests/fault_support.py."""

    def before(self, request: httpx.Request) -> httpx.Response | None: ...
    def after(self, request: httpx.Request, answer: httpx.Response) -> httpx.Response: ...


def _own(answer: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k not in ("content-length", "content-encoding")}


def make_app(github: FakeGitHub, calls: list[str], faults: Faults | None = None) -> Starlette:
    router = respx.MockRouter(assert_all_called=False)
    github.install(router)

    async def handle(request: Request) -> Response:
        query = f"?{request.url.query}" if request.url.query else ""
        url = f"{API}{request.url.path}{query}"
        headers = [(k, v) for k, v in request.headers.items() if k not in ("host", "content-length")]
        outgoing = httpx.Request(request.method, url, headers=headers, content=await request.body())
        calls.append(f"{request.method} {request.url.path}")
        injected = faults.before(outgoing) if faults is not None else None
        if injected is not None:
            return Response(injected.content, status_code=injected.status_code, headers=_own(injected))
        try:
            answer = router.handler(outgoing)
        except Exception:  # an unmocked route: GitHub's own 404 shape
            answer = httpx.Response(404, json={"message": "Not Found", "status": "404"})
        finally:  # respx keeps every request and answer on its routes; `calls` is what the tests read
            router.reset()
        if faults is not None:  # the effect happened, the answer may still be lost (a 502 after the fact)
            lost = faults.after(outgoing, answer)
            if lost is not answer:
                return Response(lost.content, status_code=lost.status_code, headers=_own(lost))
        kept = {name: answer.headers[name] for name in PASSED_HEADERS if name in answer.headers}
        if "link" in kept:  # a next page is asked of this server, as GitHub's links name GitHub's own host
            kept["link"] = kept["link"].replace(API, f"{request.url.scheme}://{request.url.netloc}")
        return Response(answer.content, status_code=answer.status_code, headers=kept)

    return Starlette(routes=[Route("/{path:path}", handle, methods=METHODS)])


@contextmanager
def serve(github: FakeGitHub, faults: Faults | None = None) -> Iterator[tuple[str, list[str]]]:
    """Serve the fake on a free loopback port; yields its base URL and the calls it received."""
    calls: list[str] = []
    with serve_app(make_app(github, calls, faults)) as base:
        yield base, calls


@contextmanager
def serve_app(app: Starlette) -> Iterator[str]:
    """Serve a stand-in for GitHub on a free loopback port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the fake GitHub server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
