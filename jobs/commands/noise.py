"""Per-repository noise limits: open Steward PRs, runs a day, comments an hour; said once when hit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.commands.context import CommandContext
from app.constants import MARKER_LIMIT
from app.github.comments import upsert_comment
from jobs.comment_count import at_utc, comments_limit, count_comments
from jobs.ledger import Ledger
from jobs.runs.plancomment import run_marker


async def limit_hit(ctx: CommandContext, ledger: Ledger, *, opens_pull: bool = True) -> str | None:
    """Which noise limit a new run would break, and when it resets; None when none is hit. A revision
    (`opens_pull=False`) adds a commit to an open pull request, so the open-PR limit does not hold it back."""
    noise = ctx.config.noise
    counts = await ledger.noise_counts(ctx.repo.full_name)
    if opens_pull and counts.open_proposed >= noise.max_open_prs:
        return (
            f"open Steward pull requests ({counts.open_proposed} of {noise.max_open_prs}); it resets when "
            "one of them is merged or closed"
        )
    if counts.runs_in_window >= noise.runs_per_day:
        resets = counts.window_resets_at or datetime.now(UTC) + timedelta(days=1)
        return f"runs a day ({counts.runs_in_window} of {noise.runs_per_day}); it resets at {at_utc(resets)}"
    return await comments_limit(ctx.redis, ctx.repo.full_name, noise.comments_per_hour)


async def say_limit(ctx: CommandContext, limit: str, bot: str) -> None:
    """One limit comment per issue, edited rather than repeated."""
    body = f"Steward did not start a run here: this repository hit its noise limit of {limit}."
    await upsert_comment(ctx.gh, ctx.repo, ctx.number, MARKER_LIMIT, body, author=bot)


__all__ = ["count_comments", "limit_hit", "run_marker", "say_limit"]
