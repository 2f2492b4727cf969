"""`/steward retry`: run the last failed or cancelled run again."""

from app.commands.record import CommandSpec

COMMAND = CommandSpec(
    "retry",
    usage="retry",
    permission="write",
    floor="write",
    summary="runs the last failed or cancelled run again",
    examples=("/steward retry",),
    handler="jobs.commands.retry:retry",
)
