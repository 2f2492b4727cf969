"""Per-repository noise limits: open Steward PRs, runs a day, comments an hour; said once when hit."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from app.commands.registry import CommandContext
from app.constants import MARKER_LIMIT, RATE_PREFIX
from app.github.comments import upsert_comment
from jobs.ledger import Ledger
from jobs.runs.plancomment import run_marker

HOUR = 3600


def _hour_key(repo: str, now: float) -> str:
    return f"{RATE_PREFIX}comments:{repo}:{int(now // HOUR)}"


async def count_comments(redis: Any, repo: str, n: int = 1) -> int:
    """Count comments a run will post this hour (its plan comment); the key expires with the hour."""
    key = _hour_key(repo, time.time())
    total = int(await redis.incrby(key, n))
    await redis.expire(key, 2 * HOUR)
    return total


async def comments_this_hour(redis: Any, repo: str) -> int:
    value = await redis.get(_hour_key(repo, time.time()))
    return int(value or 0)


def _at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


async def limit_hit(ctx: CommandContext, ledger: Ledger) -> str | None:
    """Which noise limit a new run would break, and when it resets; None when none is hit."""
    noise = ctx.config.noise
    counts = await ledger.noise_counts(ctx.repo.full_name)
    if counts.open_proposed >= noise.max_open_prs:
        return (
            f"open Steward pull requests ({counts.open_proposed} of {noise.max_open_prs}); it resets when "
            "one of them is merged or closed"
        )
    if counts.runs_in_window >= noise.runs_per_day:
        resets = counts.window_resets_at or datetime.now(UTC) + timedelta(days=1)
        return f"runs a day ({counts.runs_in_window} of {noise.runs_per_day}); it resets at {_at(resets)}"
    used = await comments_this_hour(ctx.redis, ctx.repo.full_name)
    if used >= noise.comments_per_hour:
        resets = datetime.fromtimestamp((int(time.time() // HOUR) + 1) * HOUR, UTC)
        return f"comments an hour ({used} of {noise.comments_per_hour}); it resets at {_at(resets)}"
    return None


async def say_limit(ctx: CommandContext, limit: str, bot: str) -> None:
    """One limit comment per issue, edited rather than repeated."""
    body = f"Steward did not start a run here: this repository hit its noise limit of {limit}."
    await upsert_comment(ctx.gh, ctx.repo, ctx.number, MARKER_LIMIT, body, author=bot)


__all__ = ["count_comments", "limit_hit", "run_marker", "say_limit"]
