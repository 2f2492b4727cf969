"""`/steward tests [paths]`: start a tests run here for the paths named (checked first), within the limits."""

from __future__ import annotations

from app.commands.context import CommandContext
from app.commands.paths import BadPaths, parse_paths
from jobs.commands.start import start_run


async def tests(ctx: CommandContext) -> str | None:
    """Bad paths are answered and start nothing; no paths lets the workflow choose the files."""
    try:
        paths = parse_paths(ctx.args)
    except BadPaths as exc:
        return f"@{ctx.actor}, {exc} Nothing was started. Usage: `{ctx.config.prefix} tests [paths]`."
    return await start_run(ctx, "tests", paths=paths)
