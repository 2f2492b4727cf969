"""The commands Steward declares, each one record; later issues give the placeholders their real handlers."""

from __future__ import annotations

from typing import Any

from app.commands.help import render_help
from app.commands.registry import CommandContext, command
from app.commands.status import status as status_handler
from app.config.model import Role


@command(
    "help",
    usage="help",
    permission="none",
    summary="lists the commands this repository allows, and who may use each",
    examples=("/steward help",),
)
async def help_command(ctx: CommandContext) -> str:
    return render_help(ctx.config)


@command(
    "status",
    usage="status",
    permission="none",
    summary="shows the runs here, their states, ages and costs",
    examples=("/steward status",),
)
async def status_command(ctx: CommandContext) -> str:
    return await status_handler(ctx)


async def not_yet_available(ctx: CommandContext) -> str:
    """The honest answer of a declared command whose workflow is not built in this version."""
    return (
        f"@{ctx.actor}, this command is not yet available in this version of Steward. "
        f"`{ctx.config.prefix} help` lists what works today."
    )


def _later(
    name: str, *, usage: str, permission: Role, summary: str, examples: tuple[str, ...], **kw: Any
) -> None:
    """Declare a command whose handler a later issue provides (see HANDLER_MODULES in the registry)."""
    command(
        name, usage=usage, permission=permission, summary=summary, examples=examples, available=False, **kw
    )(not_yet_available)


_later(
    "duplicates",
    usage="duplicates",
    permission="triage",
    workflow="duplicates",
    summary="finds earlier issues this one likely repeats",
    examples=("/steward duplicates",),
)
_later(
    "not-duplicate",
    usage="not-duplicate #N",
    permission="triage",
    workflow="duplicates",
    summary="records that #N is not a duplicate of this one, so it is never suggested again",
    examples=("/steward not-duplicate #12",),
)
_later(
    "docs",
    usage="docs [instructions]",
    permission="write",
    floor="write",
    workflow="docs",
    summary="plans and proposes a documentation update",
    examples=("/steward docs", "/steward docs mention the new --json flag"),
)
_later(
    "tests",
    usage="tests [paths]",
    permission="write",
    floor="write",
    workflow="tests",
    summary="plans and proposes tests",
    examples=("/steward tests", "/steward tests src/parser.py"),
)
_later(
    "approve",
    usage="approve",
    permission="maintain",
    floor="write",
    where="where a plan waits",
    summary="runs the waiting plan, minus unticked steps",
    examples=("/steward approve",),
)
_later(
    "cancel",
    usage="cancel",
    permission="write",
    floor="write",
    summary="stops queued or running runs here",
    examples=("/steward cancel",),
)
_later(
    "retry",
    usage="retry",
    permission="write",
    floor="write",
    summary="runs the last failed or cancelled run again",
    examples=("/steward retry",),
)
