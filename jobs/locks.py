"""A per-repository lock in Redis so two writing runs never work on one repository at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from app.constants import REPO_LOCK_PREFIX
from app.github.protocol import RepoId
from jobs.outage import REDIS_DOWN

log = logging.getLogger(__name__)

DEFAULT_LOCK_TTL = 900.0
"""Seconds the lock lives without renewal: a crashed holder frees the repository after this long."""

# Compare-and-act scripts: only the owner's token may extend or release its lock.
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_EXTEND = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) "
    "else return 0 end"
)


class LockHeld(Exception):
    """Another run holds the repository; try again after `retry_after` seconds."""

    def __init__(self, repo: str, holder: str, retry_after: float) -> None:
        super().__init__(f"{repo} is locked by {holder}")
        self.repo = repo
        self.holder = holder
        self.retry_after = retry_after


def lock_key(repo: RepoId | str) -> str:
    return REPO_LOCK_PREFIX + (repo.full_name if isinstance(repo, RepoId) else repo)


@contextlib.asynccontextmanager
async def repo_lock(
    redis: Any, repo: RepoId | str, owner_id: str, ttl: float = DEFAULT_LOCK_TTL
) -> AsyncIterator[None]:
    """Hold the repository's lock while the body runs; renewed every ttl/3, released only by its owner.

    The same owner (e.g. the same arq job id re-run after a crash) takes its own lock back.
    Raises LockHeld when someone else holds it.
    """
    key, ttl_ms = lock_key(repo), max(int(ttl * 1000), 1)
    if not await redis.set(key, owner_id, px=ttl_ms, nx=True):
        holder = await redis.get(key)
        holder_text = holder.decode() if isinstance(holder, bytes) else str(holder)
        if holder_text != owner_id or not await redis.eval(_EXTEND, 1, key, owner_id, ttl_ms):
            remaining = await redis.pttl(key)
            raise LockHeld(str(key[len(REPO_LOCK_PREFIX) :]), holder_text, max(remaining, 1000) / 1000)
    renewer = asyncio.create_task(_renew(redis, key, owner_id, ttl_ms))
    try:
        yield
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
        try:
            await asyncio.shield(redis.eval(_RELEASE, 1, key, owner_id))
        except REDIS_DOWN as exc:  # the body's outcome stands; the lock lapses with its TTL
            log.warning("could not release the lock %s (%s): it expires within %.0fs", key, exc, ttl)


async def _renew(redis: Any, key: str, owner_id: str, ttl_ms: int) -> None:
    while True:
        await asyncio.sleep(ttl_ms / 3000)
        try:
            extended = await redis.eval(_EXTEND, 1, key, owner_id, ttl_ms)
        except REDIS_DOWN as exc:  # Redis away for a moment: try again at the next round
            log.warning("could not renew the lock %s: %s", key, exc)
            continue
        if not extended:
            log.warning("lost the lock %s (expired or taken over); the run continues unprotected", key)
            return
