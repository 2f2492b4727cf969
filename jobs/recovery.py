"""Free the jobs of a worker that died (SIGKILL, OOM, lost host) within seconds instead of arq's job timeout.

arq marks a started job with `arq:in-progress:<job id>`, whose TTL is the longest job timeout plus 10 s
(30 minutes here); a dead worker's job stays blocked that long. Each worker therefore keeps a heartbeat
(`steward:worker:<id>`, short TTL) and, when a job starts, writes its id into the job's in-progress key and
into `steward:running` (job id -> worker id). A recovery pass (at start-up, then every few seconds) deletes
the in-progress key of each job whose worker's heartbeat is gone, so arq starts it again from the queue.

Safety: one Lua script per job checks, atomically, that the heartbeat is missing, that the record still
names that worker, and that the in-progress key still holds that worker's id; a live worker's job, or a job
already restarted by another worker, is never touched, and concurrent passes cannot both act.

The repository lock (jobs.locks) is owned by the run (`run:<run id>`), not by the worker: the restarted job
takes the dead worker's lock back at once, so recovery need not release locks. Limit: a worker killed in the
milliseconds between arq's start of a job and on_job_start leaves no record; that job waits for arq's TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from typing import Any

from arq.constants import in_progress_key_prefix

from app.constants import (
    RECOVERY_INTERVAL_SECONDS,
    RUNNING_JOBS_KEY,
    WORKER_HEARTBEAT_EVERY_SECONDS,
    WORKER_HEARTBEAT_PREFIX,
    WORKER_HEARTBEAT_TTL_SECONDS,
)

log = logging.getLogger(__name__)

WORKER_ID = "worker_id"
"""ctx key holding this worker's id."""
_TASK = "recovery_task"

_CLAIM = """
if redis.call('exists', KEYS[1]) == 1 then redis.call('set', KEYS[1], ARGV[2], 'KEEPTTL') end
redis.call('hset', KEYS[2], ARGV[1], ARGV[2])
return 1
"""
_RELEASE = """
if redis.call('hget', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('hdel', KEYS[1], ARGV[1]) end
return 0
"""
_RECOVER = """
if redis.call('exists', KEYS[3]) == 1 then return 0 end
if redis.call('hget', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('hdel', KEYS[2], ARGV[1])
if redis.call('get', KEYS[1]) == ARGV[2] then redis.call('del', KEYS[1]) return 2 end
return 1
"""
FREED = 2
"""_RECOVER's answer when it deleted the in-progress key (1: only a stale record was dropped)."""


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def heartbeat_key(worker_id: str) -> str:
    return WORKER_HEARTBEAT_PREFIX + worker_id


async def beat(redis: Any, worker_id: str, ttl: float = WORKER_HEARTBEAT_TTL_SECONDS) -> bool:
    """Renew the heartbeat; False when it had already expired (this worker looked dead for a while)."""
    previous = await redis.set(heartbeat_key(worker_id), b"1", px=max(int(ttl * 1000), 1), get=True)
    return previous is not None


async def claim(redis: Any, job_id: str, worker_id: str) -> None:
    """Record that this worker runs the job (in arq's in-progress key and in the running hash)."""
    await redis.eval(_CLAIM, 2, in_progress_key_prefix + job_id, RUNNING_JOBS_KEY, job_id, worker_id)


async def release(redis: Any, job_id: str, worker_id: str) -> None:
    await redis.eval(_RELEASE, 1, RUNNING_JOBS_KEY, job_id, worker_id)


async def recover(redis: Any) -> list[str]:
    """One pass: free every job whose worker has no heartbeat; returns the freed job ids."""
    running: dict[bytes, bytes] = await redis.hgetall(RUNNING_JOBS_KEY)
    freed: list[str] = []
    for raw_job, raw_worker in running.items():
        job_id, worker_id = raw_job.decode(), raw_worker.decode()
        keys = (in_progress_key_prefix + job_id, RUNNING_JOBS_KEY, heartbeat_key(worker_id))
        outcome = await redis.eval(_RECOVER, 3, *keys, job_id, worker_id)
        if outcome == FREED:
            log.warning("job %s was orphaned by dead worker %s: freed for another worker", job_id, worker_id)
            freed.append(job_id)
        elif outcome:
            log.info("dropped the stale record of job %s (dead worker %s)", job_id, worker_id)
    return freed


async def _keep_alive(redis: Any, worker_id: str, every: float, recover_every: float) -> None:
    since_recovery = 0.0
    while True:
        await asyncio.sleep(every)
        since_recovery += every
        try:
            if not await beat(redis, worker_id):
                log.error(
                    "worker %s missed its heartbeat (event loop stalled?): its jobs may restart elsewhere",
                    worker_id,
                )
            if since_recovery >= recover_every:
                since_recovery = 0.0
                await recover(redis)
        except Exception as exc:  # Redis down: arq itself will fail; keep trying
            log.warning("worker %s heartbeat or recovery failed: %s", worker_id, exc)


async def start(ctx: dict[str, Any]) -> None:
    """on_startup: announce this worker, free dead workers' jobs, then keep both up in the background."""
    redis = ctx["redis"]
    worker_id = ctx.setdefault(WORKER_ID, new_worker_id())
    await beat(redis, worker_id)
    freed = await recover(redis)
    log.info("worker %s alive; freed %d orphaned jobs at start-up", worker_id, len(freed))
    ctx[_TASK] = asyncio.create_task(
        _keep_alive(redis, worker_id, WORKER_HEARTBEAT_EVERY_SECONDS, RECOVERY_INTERVAL_SECONDS)
    )


async def stop(ctx: dict[str, Any]) -> None:
    """on_shutdown: stop beating and say goodbye (jobs were already re-queued or finished by arq)."""
    task = ctx.pop(_TASK, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    worker_id = ctx.get(WORKER_ID)
    if worker_id is not None and ctx.get("redis") is not None:
        with contextlib.suppress(Exception):
            await ctx["redis"].delete(heartbeat_key(worker_id))


async def job_started(ctx: dict[str, Any]) -> None:
    """on_job_start: record the job under this worker (never fails the job: at worst arq's TTL applies)."""
    if ctx.get(WORKER_ID) is None:
        return
    try:
        await claim(ctx["redis"], ctx["job_id"], ctx[WORKER_ID])
    except Exception as exc:
        log.warning("could not record job %s as running: %s", ctx.get("job_id"), exc)


async def job_ended(ctx: dict[str, Any]) -> None:
    """on_job_end: drop the record (arq deletes the in-progress key itself right after)."""
    if ctx.get(WORKER_ID) is None:
        return
    try:
        await release(ctx["redis"], ctx["job_id"], ctx[WORKER_ID])
    except Exception as exc:
        log.warning("could not drop the record of job %s: %s", ctx.get("job_id"), exc)
