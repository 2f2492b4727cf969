"""A worker's GitHub clients share one pool of keep-alive connections.

githubkit builds an httpx client per request and closes it after, with its connections: without the pool,
every request of every job paid a new TCP handshake (and, against GitHub itself, a TLS one).
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from app.github.client import GitHubKitClient, token_github
from app.github.protocol import RepoId
from app.github.transport import SharedPool, shared_pool
from app.settings import Settings
from tests.fake_github_server import make_app, serve_app
from tests.github_mock import FakeGitHub
from tests.test_jobs_comment import comment_event
from tests.worker_support import enqueue, run_burst

pytestmark = pytest.mark.anyio
JOBS = 4
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy")


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy named in the environment turns the pool off (the last test): none here."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


class Peers:
    """ASGI middleware: the client address of every request (one port per TCP connection)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.ports: list[int] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.ports.append(scope["client"][1])
        await self.app(scope, receive, send)


def _served(github: FakeGitHub) -> tuple[Peers, list[str]]:
    calls: list[str] = []
    return Peers(make_app(github, calls)), calls


async def test_clients_made_one_after_another_send_over_one_connection(settings: Settings) -> None:
    github = FakeGitHub()
    peers, _ = _served(github)
    repo = RepoId.parse(github.full)
    with serve_app(peers) as base:  # type: ignore[arg-type]
        local = settings.model_copy(update={"github_api_url": base})
        pool = SharedPool()
        try:
            for _ in range(
                JOBS
            ):  # a client per job, as the worker makes them; each closes after each request
                assert (
                    await GitHubKitClient(token_github(local, "ghs_test", pool)).get_file(repo, "x") is None
                )
            shared = list(peers.ports)
            for _ in range(JOBS):  # without the pool: githubkit's own client per request
                assert await GitHubKitClient(token_github(local, "ghs_test")).get_file(repo, "x") is None
        finally:
            await pool.close()
    assert len(shared) == JOBS and len(set(shared)) == 1, shared
    alone = peers.ports[JOBS:]
    assert len(set(alone)) == JOBS, alone  # the test can tell: a connection per request


@pytest.mark.usefixtures("no_proxy")
async def test_a_worker_sends_every_jobs_requests_over_its_pool(settings: Settings) -> None:
    """The real worker (its startup makes the pool): help commands on four issues, a token, the
    configuration, the replies looked for and posted: many requests, a few connections."""
    github = FakeGitHub()
    peers, calls = _served(github)
    with serve_app(peers) as base:  # type: ignore[arg-type]
        local = settings.model_copy(update={"github_api_url": base})
        for n in range(JOBS):
            event: dict[str, Any] = comment_event("/steward help", comment_id=9000 + n)
            event["issue"]["number"] = 1 + n
            await enqueue(local, "handle_comment", f"comment:pool:{n}", delivery_id=f"d-{n}", event=event)
        await run_burst(local)
    assert all(github.bot_comments(1 + n) for n in range(JOBS)), calls
    assert len(peers.ports) >= 3 * JOBS, calls  # each job: its token, its configuration, its reply
    assert len(set(peers.ports)) <= JOBS, peers.ports  # at most one per job running at once


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
@pytest.mark.usefixtures("no_proxy")
def test_a_proxy_in_the_environment_leaves_each_client_its_own_transport(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """httpx reads the proxy variables only for a client that builds its transport itself."""
    assert isinstance(shared_pool(), SharedPool)
    monkeypatch.setenv("NO_PROXY", "example.com")  # names no proxy: the pool stays
    assert isinstance(shared_pool(), SharedPool)
    monkeypatch.setenv(variable, "http://127.0.0.1:3128")
    assert shared_pool() is None
