"""What the run commands share: the ledger and queue from the command's context, and the bot's name."""

from __future__ import annotations

from typing import Any

from app.commands.context import CommandContext
from jobs.ledger import Ledger

NOT_CONNECTED = "The run ledger or the job queue is not connected to this worker, so I cannot start runs now."


def ledger_of(ctx: CommandContext) -> Ledger | None:
    return Ledger(ctx.sessions) if ctx.sessions is not None else None


def ready(ctx: CommandContext) -> tuple[Ledger, Any] | None:
    """The ledger and the arq pool, or None when this worker lacks either."""
    ledger = ledger_of(ctx)
    if ledger is None or ctx.redis is None or ctx.installation_id is None:
        return None
    return ledger, ctx.redis


def bot_of(ctx: CommandContext) -> str:
    return ctx.settings.bot_login if ctx.settings is not None else "steward[bot]"
