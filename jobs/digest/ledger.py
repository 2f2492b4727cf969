"""What Steward's own ledger says about a repository's week: its runs, their tokens and cost, what waits for
an approval, and the duplicates it flagged and maintainers confirmed or corrected."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from jobs.digest.facts import Item, LedgerFacts
from jobs.digest.window import Window
from jobs.duplicates.record import WORKFLOW as TRIAGE
from jobs.ledger import RunState
from jobs.models.issue_index import DuplicateFeedbackRow
from jobs.models.runs import RunRow, TransitionRow
from jobs.shadow.mode import SHADOW

MAX_ROWS = 1000
"""Rows read per question: a repository's week holds far fewer."""
FLAGGED_PREFIX = "suggested "
"""How a triage run's closing reason starts when it commented with likely duplicates (jobs/duplicates)."""


def _aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class _Links:
    def __init__(self, web_url: str, repo: str) -> None:
        self.base = f"{web_url.rstrip('/')}/{repo}"

    def issue(self, number: int) -> str:
        return f"{self.base}/issues/{number}"

    def run(self, run: RunRow) -> str:
        if run.pr_url:
            return run.pr_url
        if run.plan_comment_id:
            return f"{self.issue(run.number)}#issuecomment-{run.plan_comment_id}"
        return self.issue(run.number)


def _run_item(run: RunRow, links: _Links, at: datetime, note: str = "") -> Item:
    number = run.pr_number or run.number
    return Item(number=number, title=f"{run.workflow} run {run.id}", url=links.run(run), at=at, note=note)


async def gather_ledger(sessions: Any, repo: str, window: Window, web_url: str) -> LedgerFacts:
    facts = LedgerFacts()
    links = _Links(web_url, repo)
    async with sessions() as session:
        seen = (RunRow.repo == repo) & (RunRow.mode != SHADOW)  # shadow runs are for `steward shadow report`
        created = seen & (RunRow.created_at >= window.start) & (RunRow.created_at < window.end)
        mine = created & (RunRow.workflow != TRIAGE)
        count, tokens, cost = (
            await session.execute(
                select(func.count(RunRow.id), func.sum(RunRow.model_tokens), func.sum(RunRow.cost_usd)).where(
                    mine
                )
            )
        ).one()
        facts.runs, facts.tokens, facts.cost = int(count or 0), int(tokens or 0), float(cost or 0.0)
        moves = await session.execute(
            select(RunRow, TransitionRow)
            .join(TransitionRow, TransitionRow.run_id == RunRow.id)
            .where(seen, TransitionRow.at >= window.start, TransitionRow.at < window.end)
            .order_by(TransitionRow.at, TransitionRow.id)
            .limit(MAX_ROWS)
        )
        lists = {
            RunState.PROPOSED: facts.proposed,
            RunState.MERGED: facts.merged,
            RunState.CLOSED: facts.closed,
            RunState.FAILED: facts.failed,
        }
        for run, move in moves:
            at = _aware(move.at)
            if run.workflow == TRIAGE:
                if move.to_state == RunState.CLOSED and move.reason.startswith(FLAGGED_PREFIX):
                    note = move.reason.removeprefix(FLAGGED_PREFIX)
                    facts.flagged.append(Item(run.number, "", links.issue(run.number), at=at, note=note))
            elif move.to_state in lists:
                lists[RunState(move.to_state)].append(_run_item(run, links, at))
        waiting = await session.scalars(
            select(RunRow)
            .where(seen, RunRow.state == RunState.AWAITING_APPROVAL)
            .order_by(RunRow.created_at)
            .limit(MAX_ROWS)
        )
        facts.awaiting_approval = [_run_item(run, links, _aware(run.created_at)) for run in waiting]
        feedback = await session.scalars(
            select(DuplicateFeedbackRow)
            .where(
                DuplicateFeedbackRow.repo == repo,
                DuplicateFeedbackRow.created_at >= window.start,
                DuplicateFeedbackRow.created_at < window.end,
            )
            .order_by(DuplicateFeedbackRow.created_at, DuplicateFeedbackRow.id)
            .limit(MAX_ROWS)
        )
        for row in feedback:
            pair = Item(
                row.number,
                "",
                links.issue(row.number),
                row.actor,
                _aware(row.created_at),
                note=str(row.other),
            )
            (facts.confirmed if row.duplicate else facts.corrected).append(pair)
    return facts
