"""Work no webhook starts, on arq's cron: each scheduled job registers here with its period.

With several workers every one of them enqueues the same cron job, under the same id for a given period (arq's
`unique`), and keeps its result for the period so a late worker cannot enqueue it again; the job's body also
takes a Redis lock for that period (`once`), so it runs once even when the queue's own guard is bypassed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.settings import Settings
from jobs.scheduled.registry import SCHEDULE, Scheduled, every, once, register

__all__ = ["SCHEDULE", "Scheduled", "cron_jobs", "every", "next_runs", "once", "register"]


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


def _loaded() -> list[Scheduled]:
    from jobs.scheduled import digest, redeliver  # noqa: F401  (register themselves)

    return sorted(SCHEDULE, key=lambda item: item.name)  # the same order whatever imported them first
