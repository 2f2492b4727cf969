"""Run jobs through a real arq Worker on the test's real Redis, inside the test's event loop."""

from __future__ import annotations

from typing import Any

from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker

from app.github.retrying import RetryPolicy
from app.settings import Settings
from jobs.worker import worker_settings

FAST_GITHUB = RetryPolicy(max_tries=1, backoff=0.01, max_rate_wait=0.5)
"""No retry inside a request: a 502 goes straight to the job's own retry (arq Retry)."""
FAST_CTX: dict[str, Any] = {"retry_base": 0.05, "github_retry": FAST_GITHUB}


async def enqueue(settings: Settings, function: str, job_id: str, **kwargs: Any) -> None:
    pool = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    try:
        job = await pool.enqueue_job(function, _job_id=job_id, **kwargs)
        assert job is not None, f"job {job_id} was already queued"
    finally:
        await pool.aclose()


async def run_burst(settings: Settings, ctx: dict[str, Any] | None = None, **overrides: Any) -> Worker:
    """Run every queued job (retries included) to the end, then close the worker."""
    options = worker_settings(settings, ctx={**FAST_CTX, **(ctx or {})}, **overrides)
    worker = Worker(**options, burst=True, poll_delay=0.01, handle_signals=False)
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker
