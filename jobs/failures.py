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

import httpx
import redis.exceptions
import sqlalchemy.exc
from arq import Retry

from app.constants import MARKER_FAILURE
from app.github.comments import upsert_comment
from app.github.errors import GitHubRefused, GitHubUnavailable, RateLimited
from app.github.protocol import RepoId
from app.github.untrusted import message
from jobs.context import github_for, max_tries, quick_job_budget, retry_delay, settings_of
from jobs.locks import LockHeld
from sandbox.base import SandboxLost

log = logging.getLogger(__name__)

T = TypeVar("T")

TRANSIENT: tuple[type[BaseException], ...] = (
    GitHubUnavailable,
    LockHeld,
    httpx.TransportError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,  # asyncpg: the connection closed under a query (PostgreSQL stopping)
    ConnectionError,  # asyncpg's connect to a stopped PostgreSQL raises ConnectionRefusedError unwrapped
    SandboxLost,
)
"""Failures that may pass by themselves: the job is re-queued rather than reported."""
ORDINARY: tuple[type[BaseException], ...] = (*TRANSIENT, GitHubRefused)
"""Failures to report whose message says it all (GitHub down, unreachable or refusing): one log line."""
REPORT_PERMISSIONS = {"issues": "write", "pull_requests": "write"}


@dataclass(frozen=True)
class ReportTo:
    """Where a final failure is told: the issue or pull request that asked for the work."""

    installation_id: int
    repo: RepoId
    number: int
    what: str
    """What was asked, e.g. "`/steward help`"."""


@dataclass(frozen=True)
class Failed:
    """A job that ended in a final failure, and whether the person who asked was told (the log says it)."""

    where: ReportTo | None
    reported: bool
    why_not: str = ""

    def __str__(self) -> str:
        if self.where is None:
            return "failed (not reported: this job has no issue to report on)"
        place = f"{self.where.repo.full_name}#{self.where.number}"
        if self.reported:
            return f"failed (reported on {place})"
        return f"failed (could not be reported on {place}: {self.why_not})"


async def guarded(
    ctx: dict[str, Any], where: ReportTo | None, work: Awaitable[T], *, timed: bool = True
) -> T | None:
    """Run a job's body: transient failures raise arq Retry with backoff, final ones are reported once.

    `timed`: stop the body after `quick_job_budget(ctx)` seconds and report it; run jobs pass False, since
    jobs.runs.deadline gives them their own, longer deadline that also ends the run in the ledger.
    """
    done = await _outcome(ctx, where, work, timed=timed)
    return None if isinstance(done, Failed) else done


async def guarded_text(
    ctx: dict[str, Any], where: ReportTo | None, work: Awaitable[str], *, timed: bool = True
) -> str:
    """`guarded` for jobs whose result is a summary: a final failure says truly whether it was reported."""
    return str(await _outcome(ctx, where, work, timed=timed))


async def _outcome(
    ctx: dict[str, Any], where: ReportTo | None, work: Awaitable[T], *, timed: bool = True
) -> T | Failed:
    """`guarded`, returning the final failure (and whether it was told) instead of None."""
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
    return await report_failure(ctx, where, _timeout_advice(budget, ctx))


async def _classified(ctx: dict[str, Any], where: ReportTo | None, work: Awaitable[T]) -> T | Failed:
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
        log.error("job %s gave up after %d tries: %s", ctx.get("job_id"), job_try, _name(exc))
        return await report_failure(ctx, where, _transient_advice(exc))
    except Exception as exc:
        log.exception("job %s failed", ctx.get("job_id"))  # not transient: a bug, so the traceback
        failed = await report_failure(ctx, where, _final_advice(exc, ctx))
        log.error("job %s %s", ctx.get("job_id"), failed)
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
            f"{cause} ({message(str(exc), 300)}), even after several tries.\n\n"
            "**What to do next:** ask again in a few minutes; if it keeps happening, check "
            "https://www.githubstatus.com and the Steward operator's `steward doctor`."
        )
    if isinstance(exc, SandboxLost):
        return (
            "the Docker daemon that runs its sandbox kept going away (restarting or down), even after "
            "several tries.\n\n"
            "**What to do next:** ask again later; the operator can run `steward doctor` to check Docker."
        )
    if isinstance(exc, httpx.TransportError):
        return (
            f"a service Steward needs could not be reached ({type(exc).__name__}), even after several "
            "tries.\n\n"
            "**What to do next:** ask again later; the operator can run `steward doctor` to see what is down."
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


async def report_failure(ctx: dict[str, Any], where: ReportTo | None, reason: str) -> Failed:
    """Post or update the one failure comment on the issue; a failure to report is only logged."""
    if where is None:
        return Failed(None, reported=False)
    body = f"Steward could not finish {where.what}: {reason}"
    try:
        gh = await github_for(ctx, where.installation_id, where.repo, REPORT_PERMISSIONS)
        await upsert_comment(
            gh, where.repo, where.number, MARKER_FAILURE, body, author=settings_of(ctx).bot_login
        )
    except Exception as exc:
        what = ("could not report the failure of job %s to %s: %s", ctx.get("job_id"), where.repo.full_name)
        if isinstance(exc, ORDINARY):  # GitHub down or unreachable: the message says it all
            log.error(*what, _name(exc))
        else:
            log.exception(*what, type(exc).__name__)
        return Failed(where, reported=False, why_not=_name(exc))
    return Failed(where, reported=True)
