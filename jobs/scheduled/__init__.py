"""Work no webhook starts, on arq's cron: each scheduled job registers here with its period.

With several workers every one of them enqueues the same cron job, under the same id for a given period (arq's
`unique`), and keeps its result for the period so a late worker cannot enqueue it again; the job's body also
takes a Redis lock for that period (`once`), so it runs once even when the queue's own guard is bypassed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
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


def cron_jobs(settings: Settings) -> list[Any]:
    """arq CronJobs of the enabled scheduled jobs."""
    from arq import cron

    from jobs.context import QUICK_JOB_TIMEOUT

    jobs = []
    for item in _loaded():
        minutes = item.minutes(settings)
        if minutes is not None:
            period = 3600 // max(len(minutes), 1)
            jobs.append(
                cron(
                    item.job,  # type: ignore[arg-type]  # arq types a coroutine as taking **kwargs
                    name=item.name,
                    minute=minutes,
                    unique=True,
                    timeout=QUICK_JOB_TIMEOUT,
                    keep_result=period,
                    max_tries=1,
                )
            )
    return jobs


def next_runs(settings: Settings, now: datetime) -> list[tuple[Scheduled, datetime | None]]:
    """Each scheduled job and when it next runs (None: it is off)."""
    from arq.cron import next_cron

    found = []
    for item in _loaded():
        minutes = item.minutes(settings)
        found.append((item, None if minutes is None else next_cron(now, minute=minutes, microsecond=123456)))
    return found


async def once(ctx: dict[str, Any]) -> bool:
    """Take this period's lock for the running cron job (its arq id names the period); False: another
    worker already ran it."""
    redis = ctx.get("redis")
    job_id = str(ctx.get("job_id") or "")
    if redis is None or not job_id:
        return True
    return bool(await redis.set(f"{LOCK_PREFIX}{job_id}", "1", nx=True, ex=LOCK_TTL_SECONDS))


def _loaded() -> list[Scheduled]:
    from jobs.scheduled import redeliver  # noqa: F401  (registers itself)

    return list(SCHEDULE)
