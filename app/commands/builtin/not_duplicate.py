"""`/steward not-duplicate #N`: negative feedback on a suggestion."""

from app.commands.record import CommandSpec

COMMAND = CommandSpec(
    "not-duplicate",
    usage="not-duplicate #N",
    permission="triage",
    workflow="duplicates",
    summary="records that #N is not a duplicate of this one, so it is never suggested again",
    examples=("/steward not-duplicate #12",),
    handler="jobs.duplicates.commands:not_duplicate_command",
)
