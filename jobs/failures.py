"""Two kinds of failure: transient ones re-queue the job with backoff, final ones are told to the issue.

A third is time: arq's own timeout cancels a job without a word to anyone, so `guarded` stops the job's body
a little earlier (`quick_job_budget`) and reports that it ran out of time, like any other final failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.exceptions
import sqlalchemy.exc
from arq import Retry

from app.constants import MARKER_FAILURE
from app.github.comments import upsert_comment
from app.github.errors import GitHubUnavailable, RateLimited
from app.github.protocol import RepoId
from jobs.context import github_for, max_tries, quick_job_budget, retry_delay, settings_of
from jobs.locks import LockHeld

log = logging.getLogger(__name__)

T = TypeVar("T")

TRANSIENT: tuple[type[BaseException], ...] = (
    GitHubUnavailable,
    LockHeld,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    sqlalchemy.exc.OperationalError,
)
"""Failures that may pass by themselves: the job is re-queued rather than reported."""
REPORT_PERMISSIONS = {"issues": "write", "pull_requests": "write"}


@dataclass(frozen=True)
class ReportTo:
    """Where a final failure is told: the issue or pull request that asked for the work."""

    installation_id: int
    repo: RepoId
    number: int
    what: str
    """What was asked, e.g. "`/steward help`"."""


async def guarded(
    ctx: dict[str, Any], where: ReportTo | None, work: Awaitable[T], *, timed: bool = True
) -> T | None:
    """Run a job's body: transient failures raise arq Retry with backoff, final ones are reported once.

    `timed`: stop the body after `quick_job_budget(ctx)` seconds and report it; run jobs pass False, since
    jobs.runs.deadline gives them their own, longer deadline that also ends the run in the ledger.
    """
    if not timed:
        return await _classified(ctx, where, work)
    budget = quick_job_budget(ctx)
    deadline = asyncio.timeout(budget)
    try:
        async with deadline:
            return await _classified(ctx, where, work)
    except TimeoutError:
        if not deadline.expired():
            raise  # the body's own timeout, already classified and reported as a final failure
    log.error("job %s ran out of time after %s and was stopped", ctx.get("job_id"), duration_words(budget))
    await report_failure(ctx, where, _timeout_advice(budget, ctx))
    return None


async def _classified(ctx: dict[str, Any], where: ReportTo | None, work: Awaitable[T]) -> T | None:
    try:
        return await work
    except Retry:
        raise
    except TRANSIENT as exc:
        job_try = int(ctx.get("job_try", 1))
        if job_try < max_tries(ctx):
            defer = _defer(ctx, exc)
            log.warning(
                "job %s try %d: %s; re-queued in %.1fs", ctx.get("job_id"), job_try, _name(exc), defer
            )
            raise Retry(defer=defer) from None
        log.error("job %s gave up after %d tries: %s", ctx.get("job_id"), job_try, exc)
        await report_failure(ctx, where, _transient_advice(exc))
        return None
    except Exception as exc:
        log.exception("job %s failed", ctx.get("job_id"))
        await report_failure(ctx, where, _final_advice(exc, ctx))
        raise


def _defer(ctx: dict[str, Any], exc: BaseException) -> float:
    if isinstance(exc, RateLimited | LockHeld) and exc.retry_after is not None:
        return max(float(exc.retry_after), retry_delay(ctx))
    return retry_delay(ctx)


def _name(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _transient_advice(exc: BaseException) -> str:
    if isinstance(exc, LockHeld):
        return (
            "another Steward run kept this repository busy the whole time.\n\n"
            "**What to do next:** wait for that run to finish (`/steward status`), then ask again."
        )
    if isinstance(exc, GitHubUnavailable):
        cause = "GitHub's rate limit" if isinstance(exc, RateLimited) else "GitHub kept failing"
        return (
            f"{cause} ({exc}), even after several tries.\n\n"
            "**What to do next:** ask again in a few minutes; if it keeps happening, check "
            "https://www.githubstatus.com and the Steward operator's `steward doctor`."
        )
    return (
        "a service Steward needs (Redis or its database) was unreachable.\n\n"
        "**What to do next:** ask again later; the operator can run `steward doctor` to see what is down."
    )


def duration_words(seconds: float) -> str:
    """A time limit as people say it: "45 seconds", "4.5 minutes"."""
    if seconds >= 120:
        return f"{round(seconds / 60, 1):g} minutes"
    return f"{round(seconds, 1):g} seconds"


def _timeout_advice(budget: float, ctx: dict[str, Any]) -> str:
    return (
        f"it took longer than {duration_words(budget)} and was stopped (GitHub or the database answered too "
        "slowly).\n\n"
        "**What to do next:** ask again; if it keeps happening, the operator can find job "
        f"`{ctx.get('job_id')}` in the worker log and run `steward doctor`."
    )


def _final_advice(exc: BaseException, ctx: dict[str, Any]) -> str:
    # Only the type name: exception text may quote inputs or responses and is for the operator's log.
    return (
        f"an unexpected error ({type(exc).__name__}).\n\n"
        "**What to do next:** this is a bug or a misconfiguration, not something to retry blindly. "
        f"The operator can find the details in the worker log under job `{ctx.get('job_id')}`."
    )


async def report_failure(ctx: dict[str, Any], where: ReportTo | None, reason: str) -> None:
    """Post or update the one failure comment on the issue; a failure to report is only logged."""
    if where is None:
        return
    body = f"Steward could not finish {where.what}: {reason}"
    try:
        gh = await github_for(ctx, where.installation_id, where.repo, REPORT_PERMISSIONS)
        await upsert_comment(
            gh, where.repo, where.number, MARKER_FAILURE, body, author=settings_of(ctx).bot_login
        )
    except Exception:
        log.exception("could not report the failure of job %s to %s", ctx.get("job_id"), where.repo.full_name)
