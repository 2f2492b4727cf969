"""Prometheus metrics: `steward serve`'s GET /metrics, the worker's own loopback port, GitHub's answers and
the sandbox's kills, each read back from a real scrape (real Redis, a real worker process, real Docker)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest
import respx
from arq.connections import RedisSettings, create_pool
from fastapi.testclient import TestClient

from app.github.client import installation_client
from app.github.protocol import RepoId
from app.github.retrying import RetryPolicy
from app.observability.metrics import render
from app.settings import Settings
from app.web.app import create_app
from sandbox.docker_sandbox import DockerSandbox
from sandbox.limits import Limits
from tests.conftest import WEBHOOK_SECRET, command_comment, free_port
from tests.fake_github_server import serve
from tests.github_mock import API, TOKEN, FakeGitHub
from tests.metrics_support import sample
from tests.run_fixtures import ISSUE, MAINTAINER, REPO_ID, comment_event
from tests.sandbox_fixtures import docker_client, sandbox_dir, sandbox_image, started_sandbox  # noqa: F401
from tests.test_webhook_support import encode, github_headers
from tests.worker_process import spawn, worker_env
from tests.worker_support import enqueue

pytestmark = pytest.mark.anyio

DELIVERIES = "steward_webhook_deliveries_total"
REPO = RepoId("Codertocat", "Hello-World")


def scrape(client: TestClient) -> str:
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(
        "text/plain; version=0.0.4"
    )
    return answer.text


async def test_metrics_count_deliveries_by_event_and_outcome_and_read_the_queue_depth(
    settings: Settings, redis_url: str
) -> None:
    comment = encode(command_comment())
    ping = encode({"zen": "Keep it logically awesome.", "hook_id": 1})
    with TestClient(create_app(settings)) as client:
        before = scrape(client)
        headers = github_headers(comment, "issue_comment", "m-1")
        assert (
            client.post("/webhooks", content=comment, headers=headers).headers["x-steward-outcome"]
            == "queued"
        )
        assert (
            client.post("/webhooks", content=comment, headers=headers).headers["x-steward-outcome"]
            == "duplicate"
        )
        assert (
            client.post("/webhooks", content=ping, headers=github_headers(ping, "ping", "m-2")).status_code
            == 202
        )
        # Unsigned, with an event name of the sender's choosing: counted, but never as a label of its own.
        forged = {**github_headers(ping, "made-up-event-42", "m-3"), "X-Hub-Signature-256": "sha256=00"}
        assert client.post("/webhooks", content=ping, headers=forged).status_code == 401
        after = scrape(client)
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        waiting = await pool.zcard("arq:queue")
    finally:
        await pool.aclose()

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew(DELIVERIES, event="issue_comment", outcome="queued") == 1
    assert grew(DELIVERIES, event="issue_comment", outcome="duplicate") == 1
    assert grew(DELIVERIES, event="other", outcome="ignored") == 1  # ping: not an event Steward reads
    assert grew(DELIVERIES, event="other", outcome="rejected") == 1
    assert "made-up-event-42" not in after and "m-3" not in after
    assert grew("steward_webhook_duration_seconds_count") == 4
    assert waiting >= 1 and sample(after, "steward_queue_depth") == waiting
    assert WEBHOOK_SECRET not in after and "steward_jobs_total" in after and "_created" not in after


def test_metrics_can_be_turned_off(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"metrics": False}))) as client:
        assert client.get("/metrics").status_code == 404
        assert client.get("/healthz").status_code == 200


async def test_github_answers_are_counted_by_status_and_the_rate_limit_left_is_kept(
    settings: Settings,
) -> None:
    github = FakeGitHub()
    github.permissions["octocat"] = "triage"
    before = render().decode()
    with respx.mock(base_url=API, assert_all_called=False) as router:
        missing = router.get(url__regex=r".*/collaborators/nobody/permission$").mock(
            return_value=httpx.Response(
                404,
                json={"message": "Not Found"},
                headers={"x-ratelimit-remaining": "4321", "x-ratelimit-resource": "core"},
            )
        )
        github.install(router)  # after: respx tries routes in order
        gh = await installation_client(
            settings, 42, REPO, {"issues": "write"}, policy=RetryPolicy(max_tries=1)
        )
        assert await gh.collaborator_permission(REPO, "octocat") == "triage"
        assert await gh.collaborator_permission(REPO, "nobody") == "none"  # GitHub's 404
    assert missing.call_count == 1
    after = render().decode()

    def grew(status: str) -> float:
        name = "steward_github_requests_total"
        return sample(after, name, status=status) - sample(before, name, status=status)

    assert (grew("201"), grew("200"), grew("404")) == (1, 1, 1)  # the token, then the two permission reads
    assert sample(after, "steward_github_rate_limit_remaining", resource="core") == 4321
    assert TOKEN not in after


@pytest.fixture(scope="module")
def sandbox(
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DockerSandbox]:
    limits = Limits(
        memory="128m", cpus=1, pids=64, command_timeout=20, run_timeout=600, output_bytes=64 * 1024
    )
    yield from started_sandbox(
        tmp_path_factory.mktemp("metrics") / "ws", limits, sandbox_image, docker_client, "m"
    )


@pytest.mark.docker
async def test_sandbox_kills_are_counted_by_the_limit_that_struck(sandbox: DockerSandbox) -> None:
    before = render().decode()
    assert (await sandbox.run(["yes", "flood"], output_bytes=10_000)).killed_by == "output"
    assert (await sandbox.run(["sleep", "60"], timeout=1)).killed_by == "time"
    assert (await sandbox.run("echo fine")).ok
    after = render().decode()

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert (
        grew("steward_sandbox_kills_total", limit="output"),
        grew("steward_sandbox_kills_total", limit="time"),
    ) == (
        1,
        1,
    )
    assert grew("steward_sandbox_kills_total", limit="memory") == 0
    assert grew("steward_sandbox_command_duration_seconds_count") == 3


def start_worker(settings: Settings, api_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """The real `steward worker --metrics-port`, against the test's Redis and a fake GitHub on loopback."""
    command = [sys.executable, "-m", "app.cli", "worker", "--metrics-port", str(port)]
    return spawn(command, worker_env(settings, api_url), log)


async def worker_scrape(port: int, timeout: float = 90.0) -> str:  # a worker starts slowly on a loaded host
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            try:
                answer = await client.get(f"http://127.0.0.1:{port}/metrics")
                return answer.raise_for_status().text
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)


async def test_the_worker_serves_its_own_metrics_on_a_loopback_port(
    settings: Settings, tmp_path: Path
) -> None:
    github = FakeGitHub()
    github.permissions[MAINTAINER] = "maintain"
    port = free_port()
    log = tmp_path / "worker.log"
    with serve(github) as (api_url, _calls):
        worker = start_worker(settings, api_url, port, log)
        try:
            first = await worker_scrape(port)
            ok = {"function": "handle_comment", "outcome": "ok"}
            assert sample(first, "steward_jobs_total", **ok) == 0
            event = comment_event("/steward help", MAINTAINER, 9001)
            await enqueue(
                settings, "handle_comment", f"comment:{REPO_ID}:9001", delivery_id="w-1", event=event
            )
            deadline = time.monotonic() + 60
            scraped = await worker_scrape(port)
            while sample(scraped, "steward_jobs_total", **ok) < 1:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                assert worker.poll() is None, log.read_text()[-3000:]
                await asyncio.sleep(0.2)
                scraped = await worker_scrape(port)
        finally:
            worker.terminate()
            worker.wait(20)
    assert sample(scraped, "steward_jobs_total", **ok) == 1
    assert sample(scraped, "steward_job_duration_seconds_count", function="handle_comment") == 1
    assert sample(scraped, "steward_jobs_in_progress", function="handle_comment") == 0
    assert (
        sample(scraped, "steward_github_requests_total", status="201") >= 2
    )  # the token and the help comment
    (help_text,) = github.bot_comments(ISSUE)  # the job did its work: the help answer was posted
    assert "/steward docs" in help_text


def test_a_worker_metrics_port_already_taken_is_refused_with_the_reason(
    settings: Settings, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        worker = start_worker(settings, "http://127.0.0.1:9", port, tmp_path / "worker.log")
        assert worker.wait(30) == 2
    assert f"cannot serve metrics on 127.0.0.1:{port}" in (tmp_path / "worker.log").read_text()
