"""The per-repository lock on real Redis, and graceful shutdown re-queueing a job in flight."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from arq import Retry
from arq.worker import Worker
from redis.asyncio import Redis

from app.constants import REPO_LOCK_PREFIX
from app.github.protocol import RepoId
from app.settings import Settings
from jobs.failures import guarded
from jobs.locks import LockHeld, repo_lock
from jobs.worker import worker_settings
from tests.worker_support import FAST_CTX, enqueue, run_burst

pytestmark = pytest.mark.anyio

REPO = RepoId("Codertocat", "Hello-World")
KEY = REPO_LOCK_PREFIX + "Codertocat/Hello-World"


@pytest.fixture
async def redis(redis_url: str) -> Any:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_a_second_holder_is_excluded_until_release(redis: Any) -> None:
    async with repo_lock(redis, REPO, "job-a", ttl=30):
        assert await redis.get(KEY) == b"job-a"
        with pytest.raises(LockHeld) as held:
            async with repo_lock(redis, REPO, "job-b", ttl=30):
                pytest.fail("two holders at once")
        assert held.value.holder == "job-a" and 0 < held.value.retry_after <= 30
        assert await redis.get(KEY) == b"job-a"  # the refused one did not release the holder's lock
    assert await redis.get(KEY) is None
    async with repo_lock(redis, REPO, "job-b", ttl=30):
        assert await redis.get(KEY) == b"job-b"


async def test_the_same_owner_takes_its_lock_back_after_a_crash(redis: Any) -> None:
    await redis.set(KEY, "job-a", px=30_000)  # left by a worker that died mid-run
    async with repo_lock(redis, REPO, "job-a", ttl=30):
        assert await redis.get(KEY) == b"job-a"
    assert await redis.get(KEY) is None


async def test_the_lock_is_renewed_while_held_and_expires_without_a_holder(redis: Any) -> None:
    async with repo_lock(redis, REPO, "job-a", ttl=0.3):
        await asyncio.sleep(0.8)  # well past the TTL: only renewal keeps it
        assert await redis.get(KEY) == b"job-a"
    await redis.set(KEY, "crashed", px=200)
    await asyncio.sleep(0.3)
    async with repo_lock(redis, REPO, "job-b", ttl=30):
        assert await redis.get(KEY) == b"job-b"


async def test_an_expired_lock_taken_over_is_not_released_by_the_old_owner(redis: Any) -> None:
    async with repo_lock(redis, REPO, "job-a", ttl=30):
        await redis.set(KEY, "job-b")  # job-a's lock expired and job-b took it (simulated)
    assert await redis.get(KEY) == b"job-b"


async def test_a_held_lock_turns_into_a_deferred_retry(redis: Any, settings: Settings) -> None:
    async def work() -> str:
        async with repo_lock(redis, REPO, "job-b", ttl=30):
            return "ran"

    ctx = {"settings": settings, "job_try": 1, "max_tries": 5, **FAST_CTX}
    async with repo_lock(redis, REPO, "job-a", ttl=20):
        with pytest.raises(Retry) as retry:
            await guarded(ctx, None, work())
    assert 15_000 < (retry.value.defer_score or 0) <= 20_000
    assert await guarded(ctx, None, work()) == "ran"


STARTED = "test:slow:started"
FINISHED = "test:slow:finished"
HURRY = "test:slow:hurry"


async def slow(ctx: dict[str, Any], seconds: float) -> str:
    """A job that takes a while (unless told to hurry) and records each start and each finish."""
    await ctx["redis"].incr(STARTED)
    if not await ctx["redis"].get(HURRY):
        await asyncio.sleep(seconds)
    await ctx["redis"].incr(FINISHED)
    return "done"


async def test_graceful_shutdown_requeues_the_job_in_flight(settings: Settings, redis: Any) -> None:
    # The job must still be running when close() comes: 30 s (it is told to hurry once re-queued), and up to
    # 10 s for the worker to start it, since a loaded CI machine missed 0.5 s and 2 s.
    await enqueue(settings, "slow", "slow:1", seconds=30)
    options = worker_settings(settings, functions=[slow], ctx=FAST_CTX)
    first = Worker(**options, poll_delay=0.01, handle_signals=False)
    running = asyncio.create_task(first.async_run())
    for _ in range(1000):
        if await redis.get(STARTED):
            break
        await asyncio.sleep(0.01)
    assert await redis.get(STARTED) == b"1"
    await first.close()  # what SIGTERM does: cancel the job in flight, which arq re-queues
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert await redis.get(FINISHED) is None
    assert first.jobs_retried == 1 and first.jobs_complete == 0

    await redis.set(HURRY, 1)
    second = await run_burst(settings, functions=[slow])
    assert second.jobs_complete == 1
    assert await redis.get(STARTED) == b"2" and await redis.get(FINISHED) == b"1"


WORKER_PROCESS = """
import logging
import sys
logging.basicConfig(level=logging.INFO)
from arq.worker import Worker
from arq.connections import RedisSettings
from tests.test_worker_lock import slow
Worker(functions=[slow], redis_settings=RedisSettings.from_dsn(sys.argv[1]), poll_delay=0.01).run()
"""


async def test_sigterm_to_a_worker_process_requeues_its_job(settings: Settings, redis: Any) -> None:
    await enqueue(settings, "slow", "slow:2", seconds=30)
    root = Path(__file__).resolve().parent.parent
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WORKER_PROCESS,
        settings.redis_url,
        cwd=root,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        for _ in range(1000):
            if await redis.get(STARTED):
                break
            await asyncio.sleep(0.01)
        assert await redis.get(STARTED) == b"1", "the worker process never started the job"
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert b"will be run again" in err, err.decode()[-2000:]
    assert await redis.get(FINISHED) is None

    await redis.set(HURRY, 1)
    second = await run_burst(settings, functions=[slow])
    assert second.jobs_complete == 1
    assert await redis.get(STARTED) == b"2" and await redis.get(FINISHED) == b"1"
