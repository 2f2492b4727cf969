"""Ending a run that cannot go on: record why, tell the issue once, keep the plan comment in step."""

from __future__ import annotations

import logging

from app.github.protocol import GitHubClient, RepoId
from jobs.ledger import Ledger, LedgerError, RunState, RunView
from jobs.runs.plancomment import show_plan

log = logging.getLogger(__name__)


def result_marker(run_id: str) -> str:
    return f"<!-- steward:run-result {run_id} -->"


async def tell(gh: GitHubClient, repo: RepoId, number: int, run_id: str, text: str, *, bot: str) -> None:
    """One result comment per run, edited rather than repeated."""
    marker = result_marker(run_id)
    body = f"{marker}\n{text}"
    for comment in await gh.list_comments(repo, number):
        if comment.author.lower() == bot.lower() and marker in comment.body:
            if comment.body.strip() != body.strip():
                await gh.update_comment(repo, comment.id, body)
            return
    await gh.create_comment(repo, number, body)


async def end_run(
    ledger: Ledger,
    gh: GitHubClient,
    run: RunView,
    to: RunState,
    reason: str,
    *,
    bot: str,
    message: str = "",
) -> None:
    """Move the run to a final state (if it is not there already) and say so on the issue."""
    repo = RepoId.parse(run.repo)
    try:
        run = await ledger.transition(run.id, to, actor="steward", reason=reason[:2000])
    except LedgerError as exc:
        log.info("run %s not moved to %s: %s", run.id, to, exc)
        run = await ledger.require_run(run.id)
    if run.plan is not None:
        await show_plan(gh, repo, run.number, run.id, run.plan, run.state.value, bot=bot, status=reason[:200])
    if message:
        await tell(gh, repo, run.number, run.id, message, bot=bot)
