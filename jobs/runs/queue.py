"""Deterministic job ids for a run's jobs: a redelivered webhook or a double approve enqueues nothing new."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from arq.jobs import Job, JobStatus

from app.constants import JOB_RUN
from app.observability.tracing import job_kwargs as trace

log = logging.getLogger(__name__)

PLAN_JOB = "plan_run"
WORK_JOB = "work_run"
ABORT_WAIT_SECONDS = 10.0
"""How long `/steward cancel` waits for an aborted job to stop."""


def plan_job_id(run_id: str, base: str = "first") -> str:
    """One planning job per run and default-branch head (a moved branch gets a new plan)."""
    return f"{JOB_RUN}:plan:{run_id}:{base[:12]}"


MAX_WORK_ROUNDS = 10
"""Approvals one run may have (each after the last one lapsed, jobs/runs/rebind.py); each gets its own work
job id, since a finished job's id blocks a new one with the same id."""


def work_job_id(run_id: str, round: int = 1) -> str:
    """The work job of the run's `round`th approval (the first keeps the plain id)."""
    return f"{JOB_RUN}:work:{run_id}" + (f":{round}" if round > 1 else "")


async def enqueue_plan(redis: Any, run_id: str, base: str = "first") -> bool:
    """Queue the run's planning; False when that job is already queued, running or just done."""
    job = await redis.enqueue_job(PLAN_JOB, _job_id=plan_job_id(run_id, base), run_id=run_id, **trace())
    return job is not None


async def enqueue_work(redis: Any, run_id: str, round: int = 1) -> bool:
    """Queue the run's work; False when it already is (a double approve changes nothing)."""
    job = await redis.enqueue_job(WORK_JOB, _job_id=work_job_id(run_id, round), run_id=run_id, **trace())
    return job is not None


async def abort_jobs(redis: Any, run_id: str, plan_bases: list[str]) -> None:
    """Abort the run's jobs (a running one is cancelled, and its sandbox destroyed on the way out)."""
    works = [work_job_id(run_id, round) for round in range(1, MAX_WORK_ROUNDS + 1)]
    ids = [*works, *(plan_job_id(run_id, base) for base in plan_bases)]
    for job_id in ids:
        job = Job(job_id, redis)
        if await job.status() in (JobStatus.complete, JobStatus.not_found):
            continue
        with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
            await job.abort(timeout=ABORT_WAIT_SECONDS, poll_delay=0.1)
        log.info("aborted %s", job_id)
