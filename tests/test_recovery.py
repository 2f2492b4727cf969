"""Recovery of jobs orphaned by a dead worker, on real Redis with real arq workers: a dead worker's job is
freed at once, a live worker's job is never touched, and concurrent recovery passes do not conflict."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest
from arq.constants import in_progress_key_prefix
from arq.worker import Worker
from redis.asyncio import Redis

from app.constants import RUNNING_JOBS_KEY
from app.settings import Settings
from jobs import recovery
from jobs.worker import worker_settings
from tests.worker_support import FAST_CTX, enqueue, run_burst

pytestmark = pytest.mark.anyio

DEAD = "host:1:dead"
ALIVE = "host:2:alive"
DAY_MS = 86_400_000
SEEN = "test:recovery:seen"


@pytest.fixture
async def redis(redis_url: str) -> Any:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def started_by(redis: Any, job_id: str, worker_id: str) -> None:
    """What arq's start_jobs and then our on_job_start do when a worker picks a job up."""
    await redis.psetex(in_progress_key_prefix + job_id, DAY_MS, b"1")
    await recovery.claim(redis, job_id, worker_id)


async def test_a_dead_workers_job_is_freed_and_a_live_workers_is_not(redis: Any) -> None:
    await recovery.beat(redis, ALIVE)
    await started_by(redis, "job:dead", DEAD)
    await started_by(redis, "job:alive", ALIVE)
    assert await redis.get(in_progress_key_prefix + "job:dead") == DEAD.encode()

    assert await recovery.recover(redis) == ["job:dead"]

    assert await redis.exists(in_progress_key_prefix + "job:dead") == 0
    assert await redis.get(in_progress_key_prefix + "job:alive") == ALIVE.encode()
    assert await redis.hgetall(RUNNING_JOBS_KEY) == {b"job:alive": ALIVE.encode()}
    assert await recovery.recover(redis) == []  # nothing left to do, and the live job still stands
    assert await redis.exists(in_progress_key_prefix + "job:alive") == 1


async def test_a_job_already_restarted_elsewhere_is_not_freed_again(redis: Any) -> None:
    """The dead worker's record is stale: another worker has just started the job (arq's '1', not yet
    claimed); recovery drops the record but leaves the new worker's in-progress key alone."""
    await recovery.claim(redis, "job:x", DEAD)
    await redis.psetex(in_progress_key_prefix + "job:x", DAY_MS, b"1")
    assert await recovery.recover(redis) == []
    assert await redis.get(in_progress_key_prefix + "job:x") == b"1"
    assert await redis.hgetall(RUNNING_JOBS_KEY) == {}


async def test_concurrent_recovery_passes_free_each_job_once(redis: Any, redis_url: str) -> None:
    jobs = [f"job:{n}" for n in range(40)]
    for job_id in jobs:
        await started_by(redis, job_id, DEAD)
    clients = [Redis.from_url(redis_url) for _ in range(6)]
    try:
        passes = await asyncio.gather(*(recovery.recover(client) for client in clients))
    finally:
        for client in clients:
            await client.aclose()
    freed = [job_id for one in passes for job_id in one]
    assert sorted(freed) == sorted(jobs)  # every job freed, none twice
    assert await redis.hlen(RUNNING_JOBS_KEY) == 0
    assert not await redis.keys(in_progress_key_prefix + "*")


async def test_a_job_ended_releases_only_its_own_record(redis: Any) -> None:
    await recovery.claim(redis, "job:y", ALIVE)
    await recovery.release(redis, "job:y", DEAD)
    assert await redis.hget(RUNNING_JOBS_KEY, "job:y") == ALIVE.encode()
    await recovery.release(redis, "job:y", ALIVE)
    assert await redis.hget(RUNNING_JOBS_KEY, "job:y") is None


async def remember(ctx: dict[str, Any]) -> str:
    """A job that notes who the running records say runs it."""
    job_id = ctx["job_id"]
    record = await ctx["redis"].hget(RUNNING_JOBS_KEY, job_id)
    marker = await ctx["redis"].get(in_progress_key_prefix + job_id)
    await ctx["redis"].rpush(SEEN, f"{ctx[recovery.WORKER_ID]}|{record.decode()}|{marker.decode()}")
    return "ok"


async def test_a_real_worker_records_its_job_while_it_runs_and_forgets_it_after(
    settings: Settings, redis: Any
) -> None:
    await enqueue(settings, "remember", "remember:1")
    worker = await run_burst(settings, functions=[remember])
    assert worker.jobs_complete == 1
    (seen,) = await redis.lrange(SEEN, 0, -1)
    me, record, marker = seen.decode().split("|")
    assert me.startswith(recovery.new_worker_id().rsplit(":", 1)[0])  # host:pid of this process
    assert record == me and marker == me
    assert await redis.hlen(RUNNING_JOBS_KEY) == 0
    assert await redis.exists(recovery.heartbeat_key(me)) == 0  # said goodbye on shutdown


async def test_a_new_worker_runs_the_job_a_dead_worker_left_at_once(settings: Settings, redis: Any) -> None:
    await enqueue(settings, "remember", "remember:2")
    await started_by(redis, "remember:2", DEAD)  # a worker took it, then was SIGKILLed
    with anyio.fail_after(20):  # without recovery the burst would wait for arq's 30-minute TTL
        worker = await run_burst(settings, functions=[remember])
    # run_burst's start-up recovery freed it before polling, so the burst ran it
    assert worker.jobs_complete == 1
    assert len(await redis.lrange(SEEN, 0, -1)) == 1


async def test_a_live_workers_job_is_not_started_by_another_worker(settings: Settings, redis: Any) -> None:
    """The same situation with a live owner: the other worker polls and recovers, and leaves it alone."""
    await enqueue(settings, "remember", "remember:3")
    await recovery.beat(redis, ALIVE)
    await started_by(redis, "remember:3", ALIVE)
    worker = Worker(
        **worker_settings(settings, functions=[remember], ctx=FAST_CTX), poll_delay=0.01, handle_signals=False
    )
    running = asyncio.create_task(worker.main())
    try:
        await asyncio.sleep(1.5)  # many polls, and the start-up recovery pass
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()
    assert worker.jobs_complete == 0
    assert await redis.lrange(SEEN, 0, -1) == []
    assert await redis.get(in_progress_key_prefix + "remember:3") == ALIVE.encode()
