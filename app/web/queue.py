"""The web process's Redis: connects lazily (starts and recovers while Redis is down), enqueues in batches."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable, Sized
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

# One atomic round trip: skip a delivery already marked; write each job exactly as arq's enqueue_job does
# (skipped while its job or result record exists); then mark the delivery. arq's own enqueue_job costs four
# round trips per job, which halved the receiver's throughput (bench/webhooks.py).
# KEYS: delivery key, queue, then (job key, result key) per job. ARGV: delivery ttl, score, expiry in ms,
# then (job id, serialized job) per job. Returns -1 for a redelivery, else the number of jobs written.
ENQUEUE_ONCE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local queued = 0
for j = 0, (#KEYS - 2) / 2 - 1 do
  if redis.call('EXISTS', KEYS[3 + 2 * j], KEYS[4 + 2 * j]) == 0 then
    redis.call('PSETEX', KEYS[3 + 2 * j], ARGV[3], ARGV[5 + 2 * j])
    redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4 + 2 * j])
    queued = queued + 1
  end
end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
return queued
"""


SCRIPT = ENQUEUE_ONCE.encode()
ENQUEUE_ONCE_SHA = hashlib.sha1(SCRIPT, usedforsecurity=False).hexdigest().encode()
QUEUE_KEY = default_queue_name.encode()
JOB_KEY_PREFIX = job_key_prefix.encode()
RESULT_KEY_PREFIX = result_key_prefix.encode()
TTL_ARG = str(DELIVERY_TTL_SECONDS).encode()
EXPIRES_ARG = str(expires_extra_ms).encode()
EVALSHA = b"EVALSHA"
EVAL = b"EVAL"

Command = list[bytes]
"""One EVAL(SHA) call's arguments after the script: number of keys, keys, then arguments."""


def _pack(script: bytes, command: Command, name: bytes = EVALSHA) -> bytes:
    """The RESP encoding of `name script *command` (redis-py's Python packer cost more than the Lua call)."""
    parts = [b"*%d\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(command) + 2, len(name), name, len(script), script)]
    for arg in command:
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
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
        self._pending: list[tuple[Command, asyncio.Future[int]]] = []
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

    async def enqueue(self, delivery_id: str, jobs: Iterable[JobSpec]) -> bool:
        """Enqueue a delivery's jobs once; False means it was a redelivery and nothing was enqueued."""
        now = timestamp_ms()
        keys = [(DELIVERY_KEY_PREFIX + delivery_id).encode(), QUEUE_KEY]
        args = [TTL_ARG, str(now).encode(), EXPIRES_ARG]
        for spec in jobs:
            job_id = spec.job_id.encode()
            keys += [JOB_KEY_PREFIX + job_id, RESULT_KEY_PREFIX + job_id]
            args += [job_id, serialize_job(spec.function, (), spec.kwargs, None, now)]
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append(([str(len(keys)).encode(), *keys, *args], done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await done >= 0

    async def _flush(self) -> None:
        # Deliveries that arrive while a round trip is in flight share the next one: on a busy receiver
        # this halves the CPU spent on Redis per delivery (bench/webhooks.py).
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                    results = await self._round_trip([command for command, _ in batch])
            except (RedisError, OSError, TimeoutError) as exc:
                results = [QueueUnavailable(type(exc).__name__)] * len(batch)
            except Exception as exc:  # never leave a delivery waiting forever
                results = [exc] * len(batch)
            for (_, done), result in zip(batch, results, strict=True):
                if done.done():  # its request was cancelled (the client went away)
                    continue
                if isinstance(result, RedisError):
                    result = QueueUnavailable(type(result).__name__)
                if isinstance(result, Exception):
                    done.set_exception(result)
                else:
                    done.set_result(int(result))

    async def _round_trip(self, commands: list[Command]) -> list[Any]:
        """Run ENQUEUE_ONCE for each command in one pipelined write; a reply per command, errors included."""
        results = await self._send(
            b"".join(_pack(ENQUEUE_ONCE_SHA, command) for command in commands), commands
        )
        missed = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
        if missed:  # Redis restarted or flushed its scripts: run the script's text, which caches it again
            again = await self._send(b"".join(_pack(SCRIPT, commands[i], EVAL) for i in missed), missed)
            for i, result in zip(missed, again, strict=True):
                results[i] = result
        return results

    async def _send(self, packed: bytes, replies: Sized) -> list[Any]:
        pool = (await self._get()).connection_pool
        connection = await pool.get_connection()
        try:
            await connection.send_packed_command(packed, check_health=False)
            results: list[Any] = []
            for _ in range(len(replies)):
                try:
                    results.append(await connection.read_response())
                except ResponseError as exc:
                    results.append(exc)
            return results
        except BaseException:
            await connection.disconnect()  # it may hold part of a reply: never reuse it
            raise
        finally:
            await pool.release(connection)

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
