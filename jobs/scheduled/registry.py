"""The schedule's records: what one scheduled job is, the registry, and the per-period lock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.settings import Settings

Job = Callable[[dict[str, Any]], Awaitable[str]]
LOCK_PREFIX = "steward:cron:"
LOCK_TTL_SECONDS = 86_400


@dataclass(frozen=True)
class Scheduled:
    """One scheduled job: its arq name, its body, and the minutes past each hour it runs at (None: off)."""

    name: str
    job: Job
    minutes: Callable[[Settings], set[int] | None]
    summary: str


SCHEDULE: list[Scheduled] = []


def register(item: Scheduled) -> Scheduled:
    if any(known.name == item.name for known in SCHEDULE):
        raise ValueError(f"scheduled job {item.name!r} is registered twice")
    SCHEDULE.append(item)
    return item


def every(minutes: int) -> set[int] | None:
    """The minutes past the hour of a job that runs every `minutes` (0: never)."""
    return set(range(0, 60, minutes)) if minutes > 0 else None


async def once(ctx: dict[str, Any]) -> bool:
    """Take this period's lock for the running cron job (its arq id names the period); False: another
    worker already ran it."""
    redis = ctx.get("redis")
    job_id = str(ctx.get("job_id") or "")
    if redis is None or not job_id:
        return True
    return bool(await redis.set(f"{LOCK_PREFIX}{job_id}", "1", nx=True, ex=LOCK_TTL_SECONDS))
