"""The web process's Redis: connects lazily (starts and recovers while Redis is down), enqueues in batches."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import default_queue_name, expires_extra_ms, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from redis.exceptions import NoScriptError, RedisError, ResponseError

from app.constants import DELIVERY_KEY_PREFIX, DELIVERY_TTL_SECONDS
from app.router import JobSpec

log = logging.getLogger("steward.web")

REDIS_TIMEOUT_SECONDS = 2.0
"""Longest a delivery waits on Redis before it is answered 503 (GitHub gives up after 10 s)."""
CONNECT_TIMEOUT_SECONDS = 1

# One atomic round trip for a whole batch of deliveries: skip a delivery already marked, else write each of
# its jobs exactly as arq's enqueue_job does (skipped while its job or result record exists), then mark it.
# arq's own enqueue_job costs four round trips per job, which halved the receiver's throughput.
# KEYS: the queue, then per delivery: its key and (job key, result key) per job.
# ARGV: delivery ttl, job expiry in ms, then per delivery: job count, score, (job id, serialized job) per job.
# Returns, per delivery, -1 for a redelivery, else the number of jobs written.
ENQUEUE_ONCE = """
local results = {}
local k, a = 2, 3
while a <= #ARGV do
  local jobs = tonumber(ARGV[a])
  if redis.call('EXISTS', KEYS[k]) == 1 then
    results[#results + 1] = -1
  else
    local queued = 0
    for j = 1, jobs do
      if redis.call('EXISTS', KEYS[k + 2 * j - 1], KEYS[k + 2 * j]) == 0 then
        redis.call('PSETEX', KEYS[k + 2 * j - 1], ARGV[2], ARGV[a + 2 * j + 1])
        redis.call('ZADD', KEYS[1], ARGV[a + 1], ARGV[a + 2 * j])
        queued = queued + 1
      end
    end
    -- Marked last: if a write above fails (Redis does not roll scripts back), a redelivery retries it.
    redis.call('SET', KEYS[k], '1', 'EX', ARGV[1])
    results[#results + 1] = queued
  end
  k = k + 1 + 2 * jobs
  a = a + 2 + 2 * jobs
end
return results
"""

SCRIPT = ENQUEUE_ONCE.encode()
ENQUEUE_ONCE_SHA = hashlib.sha1(SCRIPT, usedforsecurity=False).hexdigest().encode()
QUEUE_KEY = default_queue_name.encode()
JOB_KEY_PREFIX = job_key_prefix.encode()
RESULT_KEY_PREFIX = result_key_prefix.encode()
HEAD_ARGS = [str(DELIVERY_TTL_SECONDS).encode(), str(expires_extra_ms).encode()]


def _pack(name: bytes, script: bytes, keys: list[bytes], args: list[bytes]) -> bytes:
    """The RESP encoding of `name script len(keys) *keys *args` (redis-py's Python packer cost more)."""
    head = [name, script, str(len(keys)).encode()]
    parts = [b"*%d\r\n" % (len(head) + len(keys) + len(args))]
    parts += [b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in (*head, *keys, *args)]
    return b"".join(parts)


class QueueUnavailable(Exception):
    """Redis cannot be reached; the delivery must be answered 503 so GitHub can redeliver it."""


class Queue:
    """An arq pool created on first use and kept; redis-py reconnects its connections after an outage."""

    def __init__(self, redis_url: str) -> None:
        # arq retries the first connection 5 times a second apart by default; the web edge must not wait.
        self._settings = replace(
            RedisSettings.from_dsn(redis_url), conn_retries=0, conn_timeout=CONNECT_TIMEOUT_SECONDS
        )
        self._pool: ArqRedis | None = None
        self._connecting = asyncio.Lock()
        self._pending: list[tuple[list[bytes], list[bytes], asyncio.Future[int]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def _get(self) -> ArqRedis:
        if self._pool is not None:
            return self._pool
        async with self._connecting:
            if self._pool is None:
                self._pool = await create_pool(self._settings)
        return self._pool

    async def connect(self) -> bool:
        """Try to connect now (at startup); False means Redis is down and later calls will retry."""
        return await self.ping()

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                pool = await self._get()
                await pool.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("redis unreachable: %s", type(exc).__name__)
            return False
        return True

    async def enqueue(
        self, delivery_id: str, jobs: Iterable[JobSpec], extra: dict[str, Any] | None = None
    ) -> bool:
        """Enqueue a delivery's jobs once; False means it was a redelivery and nothing was enqueued.

        `extra`: keyword arguments every job also gets (the trace context, app.observability.tracing).
        """
        now = timestamp_ms()
        keys = [(DELIVERY_KEY_PREFIX + delivery_id).encode()]
        written: list[bytes] = []
        for spec in jobs:
            job_id = spec.job_id.encode()
            keys += [JOB_KEY_PREFIX + job_id, RESULT_KEY_PREFIX + job_id]
            kwargs = {**spec.kwargs, **extra} if extra else spec.kwargs
            written += [job_id, serialize_job(spec.function, (), kwargs, None, now)]
        args = [str(len(written) // 2).encode(), str(now).encode(), *written]
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((keys, args, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await done >= 0

    async def _flush(self) -> None:
        # Deliveries that arrive while a round trip is in flight share the next one (one script call): on a
        # busy receiver this halves the CPU spent on Redis per delivery (bench/webhooks.py).
        while self._pending:
            batch, self._pending = self._pending, []
            keys, args = [QUEUE_KEY], list(HEAD_ARGS)
            for delivery_keys, delivery_args, _ in batch:
                keys += delivery_keys
                args += delivery_args
            results: list[Any]
            try:
                async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                    results = await self._run(keys, args)
                if len(results) != len(batch):
                    raise RuntimeError(f"redis answered {len(results)} results for {len(batch)} deliveries")
            except (RedisError, OSError, TimeoutError) as exc:
                results = [QueueUnavailable(type(exc).__name__)] * len(batch)
            except Exception as exc:  # never leave a delivery waiting forever
                results = [exc] * len(batch)
            for (_, _, done), result in zip(batch, results, strict=True):
                if done.done():  # its request was cancelled (the client went away)
                    continue
                if isinstance(result, Exception):
                    done.set_exception(result)
                else:
                    done.set_result(int(result))

    async def _run(self, keys: list[bytes], args: list[bytes]) -> list[Any]:
        """ENQUEUE_ONCE by its SHA, or by its text when Redis lost it (restarted or flushed its scripts)."""
        try:
            return list(await self._call(_pack(b"EVALSHA", ENQUEUE_ONCE_SHA, keys, args)))
        except NoScriptError:
            return list(await self._call(_pack(b"EVAL", SCRIPT, keys, args)))

    async def _call(self, packed: bytes) -> Any:
        pool = (await self._get()).connection_pool
        connection = await pool.get_connection()
        try:
            await connection.send_packed_command(packed, check_health=False)
            return await connection.read_response()
        except ResponseError:
            raise  # Redis answered: the connection is in a clean state
        except BaseException:
            await connection.disconnect()  # it may hold part of a reply: never reuse it
            raise
        finally:
            await pool.release(connection)

    async def depth(self) -> int | None:
        """Jobs waiting in arq's queue, or None when Redis does not answer in time."""
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                return int(await (await self._get()).zcard(QUEUE_KEY))
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("redis unreachable: %s", type(exc).__name__)
            return None

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
