"""`/steward docs [instructions]`: start a docs run here (one at a time), within the noise limits."""

from __future__ import annotations

from app.commands.context import CommandContext
from jobs.commands.start import start_run


async def docs(ctx: CommandContext) -> str | None:
    """The words after the command are the run's instructions."""
    return await start_run(ctx, "docs", instructions=ctx.args.strip())
