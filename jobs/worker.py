"""The arq worker: its settings, start-up (database, orphaned sandboxes) and shutdown."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from arq.connections import RedisSettings

from app.github.redact import install_redaction
from app.github.transport import shared_pool
from app.observability import tracing
from app.observability.worker import observed
from app.settings import Settings
from jobs import recovery
from jobs.context import JOB_MAX_TRIES, JOB_TIMEOUT_SECONDS
from jobs.db import make_engine, migrate, sessions
from jobs.functions import FUNCTIONS
from jobs.heartbeat import HEARTBEAT_SECONDS, heartbeat_key
from jobs.runs.work import workspaces_dir
from jobs.scheduled import cron_jobs
from sandbox.reaper import reap_workspaces as reap

log = logging.getLogger(__name__)

KEEP_RESULT_SECONDS = 3600
"""How long a finished job's id blocks a re-enqueue with the same id (redeliveries, double commands)."""
MAX_JOBS = 10
"""Jobs one worker runs at once."""
SANDBOX_REAPERS = (("sandbox.reaper", "reap_orphans"), ("sandbox.docker_backend", "reap_orphans"))
"""Where the sandbox package may expose a reaper of containers left by a crashed worker."""
_TRACED = "tracing_configured"
"""ctx key: this worker installed the OTLP tracer provider (and shuts it down)."""
_POOL = "github_pool"
"""ctx key: the worker's own connection pool to GitHub (closed at shutdown; a test's transport is its own)."""


def redis_settings(settings: Settings) -> RedisSettings:
    return RedisSettings.from_dsn(settings.redis_url)


async def startup(ctx: dict[str, Any]) -> None:
    """Open the ledger (migrated to the newest schema) and clean up after a previous crash."""
    settings: Settings = ctx["settings"]
    install_redaction()
    ctx[_TRACED] = tracing.configure(settings, "steward-worker")
    engine = make_engine(settings.db_url)
    await migrate(engine)
    ctx["engine"] = engine
    ctx["sessions"] = sessions(engine)
    if "github_transport" not in ctx and (pool := shared_pool()) is not None:  # tests bring their own
        ctx["github_transport"] = ctx[_POOL] = pool
    await reap_sandboxes()
    await reap_workspaces(settings.data_dir)
    await recovery.start(ctx)
    log.info("worker ready: redis=%s database=%s", safe_url(settings.redis_url), safe_url(settings.db_url))


async def shutdown(ctx: dict[str, Any]) -> None:
    await recovery.stop(ctx)
    engine = ctx.pop("engine", None)
    if engine is not None:
        await engine.dispose()
    pool = ctx.pop(_POOL, None)
    if pool is not None:
        ctx.pop("github_transport", None)
        await pool.close()
    if ctx.pop(_TRACED, False):
        tracing.uninstall()  # flushes the spans still batched


async def reap_sandboxes() -> int:
    """Remove sandboxes a crashed worker left behind, if the sandbox package offers a reaper."""
    for module_name, attr in SANDBOX_REAPERS:
        try:
            reaper = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError):
            continue
        try:
            if inspect.iscoroutinefunction(reaper):
                result = await reaper()
            else:
                result = await asyncio.to_thread(reaper)  # docker-py blocks
        except Exception as exc:  # Docker down must not keep the worker from serving comments
            log.warning("could not reap orphaned sandboxes: %s", exc)
            return 0
        count = result if isinstance(result, int) else len(result) if isinstance(result, list) else 0
        log.info("reaped %d orphaned sandboxes", count)
        return count
    return 0


async def reap_workspaces(data_dir: Path) -> int:
    """Remove the workspaces a crashed worker left (only a retry of that very run would otherwise)."""
    try:
        return len(await asyncio.to_thread(reap, workspaces_dir(data_dir)))
    except OSError as exc:  # an unreadable data dir must not keep the worker from serving comments
        log.warning("could not reap leftover workspaces: %s", exc)
        return 0


def safe_url(url: str) -> str:
    """A URL without credentials, for logs."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rsplit('@', 1)[-1]}" if sep else url


def worker_settings(
    settings: Settings,
    *,
    functions: Sequence[Any] | None = None,
    ctx: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Keyword arguments for arq's Worker (jobs.outage.StewardWorker, which rides out a Redis outage)."""
    base_ctx: dict[str, Any] = {"settings": settings, "max_tries": JOB_MAX_TRIES}
    base_ctx.update(ctx or {})
    if "max_tries" in overrides:
        base_ctx["max_tries"] = overrides["max_tries"]
    options: dict[str, Any] = {
        "functions": [observed(f) for f in (functions if functions is not None else FUNCTIONS)],
        "cron_jobs": cron_jobs(settings) if functions is None else [],
        "redis_settings": redis_settings(settings),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "on_job_start": recovery.job_started,
        "on_job_end": recovery.job_ended,
        "ctx": base_ctx,
        "job_timeout": JOB_TIMEOUT_SECONDS,
        "keep_result": KEEP_RESULT_SECONDS,
        "max_tries": base_ctx["max_tries"],
        "max_jobs": MAX_JOBS,
        "allow_abort_jobs": True,
        "health_check_interval": HEARTBEAT_SECONDS,
        "health_check_key": heartbeat_key(),
    }
    options.update(overrides)
    return options
