"""Every new comment Steward posts counts toward its repository's hourly noise limit, wherever posted."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from app.constants import RATE_PREFIX
from app.github.client import GitHubKitClient
from app.github.protocol import IssueComment, RepoId

HOUR = 3600


def _hour_key(repo: str, now: float) -> str:
    return f"{RATE_PREFIX}comments:{repo}:{int(now // HOUR)}"


async def count_comments(redis: Any, repo: str, n: int = 1) -> int:
    """Add new comments to this hour's count; the key expires after the hour has passed."""
    key = _hour_key(repo, time.time())
    total = int(await redis.incrby(key, n))
    await redis.expire(key, 2 * HOUR)
    return total


async def comments_this_hour(redis: Any, repo: str) -> int:
    value = await redis.get(_hour_key(repo, time.time()))
    return int(value or 0)


def at_utc(moment: datetime) -> str:
    """A moment as people read it in a comment."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


async def comments_limit(redis: Any, repo: str, per_hour: int) -> str | None:
    """Which limit a new comment would break and when it resets ("comments an hour"), or None."""
    used = await comments_this_hour(redis, repo)
    if used < per_hour:
        return None
    resets = datetime.fromtimestamp((int(time.time() // HOUR) + 1) * HOUR, UTC)
    return f"comments an hour ({used} of {per_hour}); it resets at {at_utc(resets)}"


class CountingClient(GitHubKitClient):
    """The worker's GitHub client: a created comment counts once it exists (edits are not new comments)."""

    def __init__(self, inner: GitHubKitClient, redis: Any) -> None:
        self.__dict__.update(inner.__dict__)  # the same githubkit client and retry policy
        self._redis = redis

    async def create_comment(self, repo: RepoId, number: int, body: str) -> IssueComment:
        comment = await super().create_comment(repo, number, body)
        await count_comments(self._redis, repo.full_name)
        return comment


def counting(client: GitHubKitClient, redis: Any) -> GitHubKitClient:
    """The client, counting the comments it creates when the worker has Redis (tests without it do not)."""
    return client if redis is None or isinstance(client, CountingClient) else CountingClient(client, redis)
