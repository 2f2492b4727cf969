"""The web process's handle on Redis: connect lazily, so the app starts and recovers while Redis is down."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import replace

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.exceptions import RedisError

from app.constants import DELIVERY_KEY_PREFIX, DELIVERY_TTL_SECONDS
from app.router import JobSpec

log = logging.getLogger("steward.web")

REDIS_TIMEOUT_SECONDS = 2.0
"""Longest a delivery waits on Redis before it is answered 503 (GitHub gives up after 10 s)."""
CONNECT_TIMEOUT_SECONDS = 1


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
        """Enqueue a delivery's jobs once; False means it was a redelivery and nothing was enqueued.

        The delivery is marked only after its jobs are enqueued, so a crash in between loses nothing:
        the redelivery enqueues again and the deterministic job ids drop what already exists.
        """
        key = DELIVERY_KEY_PREFIX + delivery_id
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                pool = await self._get()
                if await pool.exists(key):
                    return False
                for spec in jobs:
                    await pool.enqueue_job(spec.function, _job_id=spec.job_id, **spec.kwargs)
                await pool.set(key, b"1", ex=DELIVERY_TTL_SECONDS)
        except (RedisError, OSError, TimeoutError) as exc:
            raise QueueUnavailable(type(exc).__name__) from exc
        return True

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
