"""`/steward revise [instructions]`: a revision of the Steward pull request this comment is on."""

from __future__ import annotations

from app.commands.context import CommandContext
from jobs.runs.revision.start import start_revision


async def revise(ctx: CommandContext) -> str | None:
    """The words after the command are the revision's instructions; the review comments are read later."""
    if ctx.source:  # a review and its line comments are one ask, as a "Request changes" review is
        key = f"revise:{ctx.repo.full_name}:review:{ctx.ask_id or ctx.comment_id}"
    else:
        key = f"revise:{ctx.repo.full_name}:{ctx.comment_id}"
    where = f" in a {ctx.source.replace('-', ' ')}" if ctx.source else ""
    return await start_revision(ctx, key=key, event=f"{ctx.config.prefix} revise{where}")
