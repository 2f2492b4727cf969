"""`/steward duplicates`: triage on request."""

from app.commands.record import CommandSpec

COMMAND = CommandSpec(
    "duplicates",
    usage="duplicates",
    permission="triage",
    workflow="duplicates",
    summary="finds earlier issues this one likely repeats",
    examples=("/steward duplicates",),
    handler="jobs.duplicates.commands:duplicates_command",
)
