"""`/steward status`: the runs on this issue or pull request, read from the run ledger."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from app.commands.context import CommandContext

if TYPE_CHECKING:
    from jobs.ledger import RunView

STATUS_ROWS = 10
"""Runs listed in one answer (newest first)."""


def render_status(runs: list[RunView], prefix: str, now: datetime | None = None) -> str:
    """A table of runs, or a sentence saying there are none."""
    from jobs.ledger.render import format_age, format_cost
    from jobs.ledger.views import utcnow

    if not runs:
        return f"No Steward runs on this one yet. `{prefix} help` lists what I can do."
    now = now or utcnow()
    lines = ["| run | workflow | state | age | cost |", "| --- | --- | --- | --- | --- |"]
    for run in runs[:STATUS_ROWS]:
        link = f"[#{run.pr_number}]({run.pr_url})" if run.pr_number and run.pr_url else ""
        state = f"{run.state.value.replace('_', ' ')} {link}".strip()
        lines.append(
            f"| `{run.id}` | {run.workflow} | {state} | {format_age(run.age(now))} | {format_cost(run)} |"
        )
    if len(runs) > STATUS_ROWS:
        lines.append(
            f"\n{len(runs) - STATUS_ROWS} older runs are not shown; `steward runs list` has them all."
        )
    return "\n".join(lines)


async def status(ctx: CommandContext) -> str:
    """Answer `/steward status` from the ledger (honestly, when this worker has none)."""
    from jobs.ledger import Ledger  # the ledger (SQLAlchemy) loads only where a status is asked for

    if ctx.sessions is None:
        return "The run ledger is not connected to this worker, so I cannot list runs right now."
    runs = await Ledger(ctx.sessions).runs_for(ctx.repo.full_name, ctx.number, limit=STATUS_ROWS + 1)
    return render_status(runs, ctx.config.prefix)
