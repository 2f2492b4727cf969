"""A run job stops itself a little before arq's timeout, so the run ends as failed and the issue is told why.

When arq's own timeout fires, the job is failed without a retry and nobody hears of it; the run would stay
`running` forever. The wrapper cancels the body first (the sandbox is destroyed and the repository lock
released on the way out, as for `/steward cancel`), then fails the run and says so on the issue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from arq.typing import WorkerCoroutine

from app.github.protocol import RepoId
from jobs.context import db_sessions, settings_of
from jobs.failures import duration_words
from jobs.ledger import TERMINAL, Ledger, RunState
from jobs.runs.finish import end_run
from jobs.runs.github_forge import GitHubForge
from jobs.runs.scoped import scoped_client
from jobs.shadow.mode import shadow_if_needed

log = logging.getLogger(__name__)

RunJob = Callable[[dict[str, Any], str], Awaitable[str]]
TIMEOUT_MARGIN_SECONDS = 30.0
"""Time kept back from arq's timeout for the clean-up and the report."""
REPORT_PERMISSIONS = {"issues": "write"}


def within(job: RunJob, timeout: float, what: str, margin: float = TIMEOUT_MARGIN_SECONDS) -> WorkerCoroutine:
    """`job` stopped after `timeout - margin` seconds, ending its run as failed with a message."""
    budget = max(timeout - margin, 1.0)

    async def timed(ctx: dict[str, Any], run_id: str) -> str:
        deadline = asyncio.timeout(budget)
        try:
            async with deadline:
                return await job(ctx, run_id)
        except TimeoutError:
            if not deadline.expired():
                raise  # somebody else's timeout: the job's own failure handling already saw it
        log.warning("job %s: %s of run %s ran out of time (%.0fs)", ctx.get("job_id"), what, run_id, budget)
        await timed_out(ctx, run_id, what, budget)
        return f"run {run_id} timed out"

    timed.__name__ = timed.__qualname__ = getattr(job, "__name__", "run_job")
    timed.__doc__ = job.__doc__
    return cast(WorkerCoroutine, timed)


async def timed_out(ctx: dict[str, Any], run_id: str, what: str, budget: float) -> None:
    """Fail the run (unless it already ended) and tell the issue; a failure to tell is only logged."""
    ledger = Ledger(db_sessions(ctx))
    run = await ledger.get_run(run_id)
    if run is None or run.state in TERMINAL or run.installation_id is None:
        return
    reason = f"{what} took longer than {duration_words(budget)}"
    message = (
        f"Run `{run.id}` failed: {reason} and was stopped; nothing more was pushed.\n\n"
        "**What to do next:** untick slow steps of the plan or ask the operator about the worker's job "
        "timeout, then `/steward retry`."
    )
    try:
        repo = RepoId.parse(run.repo)
        gh, _ = await scoped_client(ctx, run.installation_id, repo, REPORT_PERMISSIONS)
        run, gh = await shadow_if_needed(ctx, ledger, gh, run)  # a shadow run's failure is recorded only
        await end_run(
            ledger, GitHubForge(gh, repo, settings_of(ctx).bot_login), run, RunState.FAILED, reason, message
        )
    except Exception:
        log.exception("could not tell the timeout of run %s", run_id)
        run = await ledger.require_run(run_id)
        if run.state not in TERMINAL:
            await ledger.transition(run_id, RunState.FAILED, actor="steward", reason=reason)
