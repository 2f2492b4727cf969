"""Parsed configurations cached by blob sha: shared in Redis, or in the process."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Protocol

from app import __version__
from app.config.result import ConfigResult
from app.constants import CONFIG_CACHE_PREFIX

log = logging.getLogger(__name__)

CONFIG_CACHE_TTL_SECONDS = 7 * 24 * 3600
"""A parsed blob never changes, so this only bounds Redis memory."""
MEMORY_CACHE_ENTRIES = 256


class ConfigCache(Protocol):
    """Parsed configurations by blob sha."""

    async def get(self, sha: str) -> ConfigResult | None: ...

    async def put(self, sha: str, result: ConfigResult) -> None: ...


class MemoryConfigCache:
    """An in-process LRU, for the CLI, tests, and workers without Redis."""

    def __init__(self, size: int = MEMORY_CACHE_ENTRIES) -> None:
        self._size = size
        self._items: OrderedDict[str, ConfigResult] = OrderedDict()

    async def get(self, sha: str) -> ConfigResult | None:
        found = self._items.get(sha)
        if found is not None:
            self._items.move_to_end(sha)
        return found

    async def put(self, sha: str, result: ConfigResult) -> None:
        self._items[sha] = result
        self._items.move_to_end(sha)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


class RedisConfigCache:
    """Shared by every worker: `steward:config:<version>:<sha>` holds the parsed result as JSON.

    The version is part of the key because a newer Steward may judge the same blob differently.
    """

    def __init__(self, redis: Any, ttl: int = CONFIG_CACHE_TTL_SECONDS) -> None:
        self._redis = redis
        self._ttl = ttl

    @staticmethod
    def key(sha: str) -> str:
        return f"{CONFIG_CACHE_PREFIX}{__version__}:{sha}"

    async def get(self, sha: str) -> ConfigResult | None:
        raw = await self._redis.get(self.key(sha))
        if raw is None:
            return None
        try:
            return ConfigResult.from_json(raw)
        except (ValueError, KeyError, TypeError):
            # Written by another version of Steward: parse the blob again.
            log.info("config cache entry %s is stale; parsing again", sha[:12])
            return None

    async def put(self, sha: str, result: ConfigResult) -> None:
        await self._redis.set(self.key(sha), result.to_json(), ex=self._ttl)


PROCESS_CACHE = MemoryConfigCache()
"""Used when the caller has neither a cache nor a Redis client."""


def as_cache(cache: ConfigCache | Any | None) -> ConfigCache:
    """A ConfigCache from what the caller has: a cache, a Redis client (shared cache), or nothing (LRU)."""
    if cache is None:
        return PROCESS_CACHE
    if hasattr(cache, "put"):
        found: ConfigCache = cache
        return found
    return RedisConfigCache(cache)
