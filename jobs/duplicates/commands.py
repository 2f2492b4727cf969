"""`/steward duplicates` and `/steward not-duplicate #N`: triage on request, and negative feedback."""

from __future__ import annotations

import re
from typing import Protocol, runtime_checkable

from app.commands.context import CommandContext
from app.github.protocol import IssueRecord, RepoId
from jobs.duplicates import store
from jobs.duplicates.jobs import index_cache
from jobs.duplicates.record import record_triage
from jobs.duplicates.triage import triage

_NUMBER = re.compile(r"^#?(\d+)\b")
NOT_INDEXED = "This item is not in Steward's duplicate index yet (its backfill may be running); retry later."


@runtime_checkable
class ReadsIssue(Protocol):
    """A client that can read one issue (the worker's real client can; narrow test fakes may not)."""

    async def get_issue(self, repo: RepoId, number: int) -> IssueRecord: ...


async def _triage_here(ctx: CommandContext, *, asked: bool) -> None:
    """Rank this item now and converge its one duplicates comment (`asked`: say so when none passes)."""
    assert ctx.sessions is not None
    result = await triage(
        ctx.gh,
        ctx.sessions,
        index_cache(ctx.sessions),
        ctx.repo,
        ctx.number,
        ctx.config.workflows.duplicates,
        bot_login=ctx.settings.bot_login if ctx.settings else "steward[bot]",
        asked=asked,
        prefix=ctx.config.prefix,
    )
    # Recorded like triage on open: `/steward status` shows it, and an edit knows there may be a comment.
    await record_triage(
        ctx.sessions,
        ctx.repo.full_name,
        ctx.number,
        ctx.delivery_id or f"comment-{ctx.comment_id}",
        ctx.installation_id,
        result.summary,
        event="command",
        actor=ctx.actor,
        actor_role=ctx.role,
        mode="shadow" if result.shadow else "normal",
    )


async def duplicates_command(ctx: CommandContext) -> str | None:
    """Triage this item now; the answer is the duplicates comment itself (or 'none found')."""
    if ctx.sessions is None:
        return "Duplicate triage needs Steward's database, which this worker does not have."
    if await store.get_item(ctx.sessions, ctx.repo.full_name, ctx.number) is None:
        if not isinstance(ctx.gh, ReadsIssue):
            return NOT_INDEXED
        # not indexed yet (e.g. its backfill is still running): read it from GitHub and index it first
        await store.upsert_item(
            ctx.sessions, ctx.repo.full_name, await ctx.gh.get_issue(ctx.repo, ctx.number)
        )
    await _triage_here(ctx, asked=True)
    return None


async def not_duplicate_command(ctx: CommandContext) -> str | None:
    """Record the pair as not duplicates and refresh the suggestions at once."""
    match = _NUMBER.match(ctx.args.strip())
    if match is None:
        return f"Usage: `{ctx.config.prefix} not-duplicate #N`, with the number of the suggested issue."
    other = int(match.group(1))
    if other == ctx.number:
        return "An item cannot be a duplicate of itself; name the suggested issue's number."
    if ctx.sessions is None:
        return "Recording feedback needs Steward's database, which this worker does not have."
    await store.record_feedback(
        ctx.sessions,
        ctx.repo.full_name,
        ctx.number,
        other,
        duplicate=False,
        source="command",
        actor=ctx.actor,
    )
    if await store.get_item(ctx.sessions, ctx.repo.full_name, ctx.number) is not None:
        await _triage_here(ctx, asked=False)
    return f"Noted: #{other} is not a duplicate of this one. Steward will not suggest it here again."
