"""The worker's side: each job function counted, timed and traced (continuing its enqueuer's trace), and
the worker's own metrics served on a loopback port (`steward worker --metrics-port`)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from time import perf_counter
from typing import Any

from arq.worker import Function, Retry, func

from app.observability import tracing
from app.observability.metrics import JOB_SECONDS, JOBS, JOBS_RUNNING

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


def observed(function: Any) -> Function:
    """`function` (a coroutine or arq Function) wrapped: it never sees the trace keyword argument."""
    wrapped = func(function)
    name, inner = wrapped.name, wrapped.coroutine

    async def job(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        parent = kwargs.pop(tracing.TRACE_KWARG, None)
        attributes: tracing.Attributes = {
            "steward.job.function": name,
            "steward.job.id": str(ctx.get("job_id", "")),
            "steward.job.try": int(ctx.get("job_try") or 1),
        }
        outcome = "failed"
        running = JOBS_RUNNING.labels(name)
        running.inc()
        started = perf_counter()
        try:
            with tracing.span(f"job {name}", attributes, kind="consumer", parent=parent):
                result = await inner(ctx, *args, **kwargs)
            outcome = "ok"
            return result
        except Retry:
            outcome = "retry"
            raise
        except asyncio.CancelledError:  # aborted (`/steward cancel`), timed out, or the worker stopping
            outcome = "cancelled"
            raise
        finally:
            running.dec()
            JOBS.labels(name, outcome).inc()
            JOB_SECONDS.labels(name).observe(perf_counter() - started)

    job.__qualname__ = job.__name__ = name
    return dataclasses.replace(wrapped, coroutine=job)


def serve_metrics(port: int) -> None:
    """This process's metrics on http://127.0.0.1:<port>/metrics, from a daemon thread."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=LOOPBACK)
    log.info("metrics on http://%s:%d/metrics", LOOPBACK, port)
