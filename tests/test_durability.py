"""SIGKILL of a real worker process in the middle of a run: a new worker finishes it, and in the end there
is exactly one plan comment and one pull request. The workers run with the production job timeouts (arq
would hold the dead worker's job for 30 minutes); jobs.recovery frees it once the dead worker's heartbeat
expires. Real Redis, Docker, git and SQLite; GitHub is a fake HTTP server on 127.0.0.1 (respx cannot reach
another process)."""

from __future__ import annotations

import asyncio
import signal
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
from tests.run_fixtures import BRANCH, containers, fake_github, make_remote, runs
from tests.worker_process import Workers, ask_and_approve, slow_page, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

RESUME_BOUND = WORKER_HEARTBEAT_TTL_SECONDS + RECOVERY_INTERVAL_SECONDS + 10
"""Kill to restart of the work job: the heartbeat expires, the next recovery pass frees it (plus start-up)."""


async def test_sigkill_mid_run_then_a_new_worker_finishes_with_one_plan_and_one_pr(
    settings: Settings, tmp_path: Path
) -> None:
    remote = make_remote(tmp_path, {"docs/slow.md": slow_page(4)})
    github = fake_github(remote)
    log = tmp_path / "worker.log"
    with serve(github) as (api_url, calls):
        workers = Workers(settings, api_url, log)
        first = workers.start()
        try:
            run = await ask_and_approve(settings, github, (4001, 4002), ("k1", "k2"))
            job_id = work_job_id(run.id)
            owner = await running_worker(settings, job_id)
            assert owner is not None
            assert await in_progress_ttl(settings, job_id) > 1700, "not the production timeout"
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            killed = time.monotonic()
            assert (await runs(settings))[0].state == RunState.RUNNING
            assert remote.sha(BRANCH) is None and not github.pulls

            workers.start()

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
            workers.stop()
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
