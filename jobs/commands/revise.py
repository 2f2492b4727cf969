"""`/steward revise [instructions]`: a revision of the Steward pull request this comment is on."""

from __future__ import annotations

from app.commands.context import CommandContext
from jobs.runs.revision.start import start_revision


async def revise(ctx: CommandContext) -> str | None:
    """The words after the command are the revision's instructions; the review comments are read later."""
    key = f"revise:{ctx.repo.full_name}:{ctx.comment_id}"
    return await start_revision(ctx, key=key, event=f"{ctx.config.prefix} revise")
