"""What a job finds in arq's ctx: the settings, the GitHub client factory, retry tuning, the database."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.github.client import GitHubKitClient, installation_client
from app.github.protocol import RepoId
from app.github.retrying import DEFAULT_POLICY, RetryPolicy
from app.settings import Settings
from jobs.comment_count import counting

JOB_MAX_TRIES = 5
"""Attempts per job (arq's max_tries); the last one reports a final failure instead of retrying."""
RETRY_BASE_SECONDS = 5.0
"""First re-queue delay for a transient failure; doubled per try."""
RETRY_CAP_SECONDS = 600.0
"""The longest delay between two tries of a job (rate limits excepted: they wait for their reset)."""
JOB_TIMEOUT_SECONDS = 1800
"""Longest a job may run before arq stops it (a run's own budgets are tighter)."""
QUICK_JOB_TIMEOUT = 300
"""arq's timeout for jobs that only talk to GitHub and the database (long runs use the worker's default)."""
QUICK_JOB_MARGIN = 30.0
"""Time kept back from that timeout so a job that runs out of time can still say so (jobs.failures)."""


def settings_of(ctx: dict[str, Any]) -> Settings:
    settings = ctx["settings"]
    assert isinstance(settings, Settings)
    return settings


def db_sessions(ctx: dict[str, Any]) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = ctx["sessions"]
    return maker


def max_tries(ctx: dict[str, Any]) -> int:
    return int(ctx.get("max_tries", JOB_MAX_TRIES))


def quick_job_budget(ctx: dict[str, Any]) -> float:
    """How long a quick job's body may take before it is stopped and reported (a ctx value may lower it)."""
    return float(ctx.get("quick_job_budget", QUICK_JOB_TIMEOUT - QUICK_JOB_MARGIN))


def retry_delay(ctx: dict[str, Any]) -> float:
    """Exponential backoff from the job's try number."""
    base = float(ctx.get("retry_base", RETRY_BASE_SECONDS))
    tries = int(ctx.get("job_try", 1))
    return float(min(base * 2 ** (tries - 1), RETRY_CAP_SECONDS))


async def github_for(
    ctx: dict[str, Any], installation_id: int, repo: RepoId, permissions: dict[str, str]
) -> GitHubKitClient:
    """A client with a token scoped to this repository and these permissions (tests inject the transport)."""
    transport: httpx.AsyncBaseTransport | None = ctx.get("github_transport")
    policy: RetryPolicy = ctx.get("github_retry", DEFAULT_POLICY)
    client = await installation_client(
        settings_of(ctx), installation_id, repo, permissions, transport=transport, policy=policy
    )
    return counting(client, ctx.get("redis"))  # every new comment counts toward the hourly noise limit
