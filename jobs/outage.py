"""arq's Worker, made to ride out a Redis outage: arq's poll loop lets a ConnectionError end the process, and
a job that finishes while Redis is away loses its result (its in-progress key then blocks it for 30 minutes).

Here the poll loop logs the outage once, waits with backoff and carries on; the jobs in flight keep running
(their own Redis calls fail and are retried by the job's failure policy), and a finished job's bookkeeping
(result, queue entry, in-progress key) is written once Redis answers again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import redis.exceptions
from arq.worker import Worker

log = logging.getLogger(__name__)

REDIS_DOWN: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)  # (BusyLoadingError, a restarted Redis still reading its file, is a ConnectionError)
"""What a Redis call raises while the server is stopped, restarting or unreachable."""
FIRST_WAIT_SECONDS = 0.5
"""First pause of the poll loop after Redis failed; doubled per failure up to MAX_WAIT_SECONDS."""
MAX_WAIT_SECONDS = 10.0
FINISH_PATIENCE_SECONDS = 900.0
"""How long a finished job waits for Redis to record its end (its lock lives as long: jobs.locks)."""


def backoff(failures: int) -> float:
    return float(min(FIRST_WAIT_SECONDS * 2 ** max(failures - 1, 0), MAX_WAIT_SECONDS))


class Outage:
    """One Redis outage as the worker sees it: when it began and how many calls failed since."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.failures = 0

    def failed(self, exc: BaseException, where: str) -> float:
        """Note a failure; the pause before the next try. Logged once per outage, not per poll."""
        self.failures += 1
        if self.since is None:
            self.since = time.monotonic()
            log.error("Redis is unreachable (%s: %s): the worker waits for it", where, _name(exc))
        return backoff(self.failures)

    def passed(self) -> None:
        if self.since is not None:
            log.warning(
                "Redis answers again after %.1fs: the worker carries on", time.monotonic() - self.since
            )
        self.since, self.failures = None, 0


class StewardWorker(Worker):
    """arq's Worker that survives Redis stopping and coming back (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outage = Outage()

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_DOWN as exc:
            await asyncio.sleep(self.outage.failed(exc, "polling the queue"))
            return
        self.outage.passed()

    async def finish_job(self, job_id: str, *args: Any, **kwargs: Any) -> None:
        deadline = time.monotonic() + FINISH_PATIENCE_SECONDS
        failures = 0
        while True:
            try:
                await super().finish_job(job_id, *args, **kwargs)
                if failures:
                    log.warning("recorded the end of job %s once Redis answered again", job_id)
                return
            except REDIS_DOWN as exc:
                failures += 1
                if time.monotonic() > deadline:
                    log.error("gave up recording the end of job %s: %s", job_id, _name(exc))
                    raise
                if failures == 1:
                    log.warning("job %s ended but Redis is unreachable: its end is recorded later", job_id)
                await asyncio.sleep(backoff(failures))


def _name(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
