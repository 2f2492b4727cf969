"""The commands Steward declares, each one record; later issues give the placeholders their real handlers."""

from __future__ import annotations

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


PLACEHOLDERS: tuple[tuple[str, str, Role, Role, str | None, str, tuple[str, ...]], ...] = (
    (
        "duplicates",
        "duplicates",
        "triage",
        "none",
        "duplicates",
        "finds earlier issues this one likely repeats",
        ("/steward duplicates",),
    ),
    (
        "not-duplicate",
        "not-duplicate #N",
        "triage",
        "none",
        "duplicates",
        "records that #N is not a duplicate of this one, so it is never suggested again",
        ("/steward not-duplicate #12",),
    ),
    (
        "docs",
        "docs [instructions]",
        "write",
        "write",
        "docs",
        "plans and proposes a documentation update",
        ("/steward docs", "/steward docs mention the new --json flag"),
    ),
    (
        "tests",
        "tests [paths]",
        "write",
        "write",
        "tests",
        "plans and proposes tests",
        ("/steward tests", "/steward tests src/parser.py"),
    ),
    (
        "approve",
        "approve",
        "maintain",
        "write",
        None,
        "runs the waiting plan, minus unticked steps",
        ("/steward approve",),
    ),
    ("cancel", "cancel", "write", "write", None, "stops queued or running runs here", ("/steward cancel",)),
    (
        "retry",
        "retry",
        "write",
        "write",
        None,
        "runs the last failed or cancelled run again",
        ("/steward retry",),
    ),
)
"""name, usage, default permission, floor, workflow, summary, examples."""

for _name, _usage, _permission, _floor, _workflow, _summary, _examples in PLACEHOLDERS:
    command(
        _name,
        usage=_usage,
        permission=_permission,
        floor=_floor,
        workflow=_workflow,
        summary=_summary,
        examples=_examples,
        where="where a plan waits" if _name == "approve" else "issue, PR",
        available=False,
    )(not_yet_available)
