"""SIGKILL of a real worker process in the middle of a run: a new worker finishes it, and in the end there
is exactly one plan comment and one pull request. The workers run with the production job timeouts (arq
would hold the dead worker's job for 30 minutes); jobs.recovery frees it once the dead worker's heartbeat
expires. Real Redis, Docker, git and SQLite; GitHub is a fake HTTP server on 127.0.0.1 (respx cannot reach
another process)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis

from app.constants import RECOVERY_INTERVAL_SECONDS, RUNNING_JOBS_KEY, WORKER_HEARTBEAT_TTL_SECONDS
from app.settings import Settings
from jobs.ledger import RunState
from jobs.runs.queue import work_job_id
from tests.fake_github_server import serve
from tests.run_fixtures import (
    APPROVER,
    BRANCH,
    MAINTAINER,
    REPO_ID,
    comment_event,
    containers,
    fake_github,
    make_remote,
    runs,
)
from tests.worker_support import enqueue

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

ROOT = Path(__file__).resolve().parent.parent
SLOW = 'python3 -c "import time; time.sleep(4); print(42)"'
WORKER = """
import logging
from arq.worker import Worker
from app.settings import Settings
from jobs.worker import worker_settings

logging.basicConfig(level=logging.INFO)
options = worker_settings(Settings())  # production functions and timeouts
options["ctx"]["retry_base"] = 0.2
Worker(**options, poll_delay=0.05).run()
"""
RESUME_BOUND = WORKER_HEARTBEAT_TTL_SECONDS + RECOVERY_INTERVAL_SECONDS + 10
"""Kill to restart of the work job: the heartbeat expires, the next recovery pass frees it (plus start-up)."""


def start_worker(settings: Settings, api_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")},
        "STEWARD_REDIS_URL": settings.redis_url,
        "STEWARD_DATABASE_URL": settings.db_url,
        "STEWARD_DATA_DIR": str(settings.data_dir),
        "STEWARD_GITHUB_API_URL": api_url,
        "STEWARD_APP_ID": str(settings.app_id),
        "STEWARD_REDELIVER_EVERY_MINUTES": "0",  # no cron pass against the real GitHub in a test
        "STEWARD_DIGEST_PASS": "false",
        "STEWARD_PRIVATE_KEY": settings.private_key_pem(),
    }
    with log.open("ab") as err:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-c", WORKER], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err
        )


async def wait_for(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def test_sigkill_mid_run_then_a_new_worker_finishes_with_one_plan_and_one_pr(
    settings: Settings, tmp_path: Path
) -> None:
    remote = make_remote(
        tmp_path, {"docs/slow.md": f"<!-- steward:exec {SLOW} -->\n```\n```\n<!-- /steward:exec -->\n"}
    )
    github = fake_github(remote)
    log = tmp_path / "worker.log"
    with serve(github) as (api_url, calls):
        first = start_worker(settings, api_url, log)
        second: subprocess.Popen[bytes] | None = None
        try:
            event = comment_event("/steward docs", MAINTAINER, 4001)
            await enqueue(
                settings, "handle_comment", f"comment:{REPO_ID}:4001", delivery_id="k1", event=event
            )

            async def planned() -> bool:
                return bool(github.plan_comments())

            await wait_for(planned, 60, "the plan comment")
            event = comment_event("/steward approve", APPROVER, 4002)
            await enqueue(
                settings, "handle_comment", f"comment:{REPO_ID}:4002", delivery_id="k2", event=event
            )
            (run,) = await runs(settings)

            async def in_sandbox() -> bool:
                return await asyncio.to_thread(containers, run.id) > 0

            await wait_for(in_sandbox, 60, "the sandbox of the work job")
            job_id = work_job_id(run.id)
            owner = await running_worker(settings, job_id)
            assert owner is not None
            assert await in_progress_ttl(settings, job_id) > 1700, "not the production timeout"
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            killed = time.monotonic()
            assert (await runs(settings))[0].state == RunState.RUNNING
            assert remote.sha(BRANCH) is None and not github.pulls

            second = start_worker(settings, api_url, log)

            async def restarted() -> bool:
                return (await running_worker(settings, job_id)) not in (None, owner)

            await wait_for(restarted, RESUME_BOUND, "a new worker to restart the orphaned work job")
            resumed = time.monotonic() - killed

            async def proposed() -> bool:
                return (await runs(settings))[0].state == RunState.PROPOSED

            await wait_for(proposed, 60, "the run to be proposed by the second worker")
            print(
                f"work job restarted {resumed:.1f}s after SIGKILL, proposed {time.monotonic() - killed:.1f}s"
            )
        finally:
            for proc in (first, second):
                if proc is not None and proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(20)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
    assert len(github.plan_comments()) == 1, log.read_text()[-3000:]
    assert len(github.pulls) == 1 and github.pulls[0]["head"]["ref"] == BRANCH
    assert calls.count("POST /repos/Codertocat/Hello-World/pulls") == 1
    assert remote.sha(BRANCH) == github.pulls[0]["head"]["sha"]
    assert await asyncio.to_thread(containers, run.id) == 0  # the killed worker's sandbox was reaped
    assert f"job {job_id} was orphaned by dead worker {owner}" in log.read_text()


async def running_worker(settings: Settings, job_id: str) -> str | None:
    """The worker the running records name for this job (jobs.recovery)."""
    client = Redis.from_url(settings.redis_url)
    try:
        value = await client.hget(RUNNING_JOBS_KEY, job_id)
    finally:
        await client.aclose()
    return value.decode() if value is not None else None


async def in_progress_ttl(settings: Settings, job_id: str) -> float:
    client = Redis.from_url(settings.redis_url)
    try:
        return float(await client.pttl(in_progress_key_prefix + job_id)) / 1000
    finally:
        await client.aclose()
