"""`/steward cancel`: stop the runs here."""

from app.commands.record import CommandSpec

COMMAND = CommandSpec(
    "cancel",
    usage="cancel",
    permission="write",
    floor="write",
    summary="stops queued or running runs here",
    examples=("/steward cancel",),
    handler="jobs.commands.cancel:cancel",
)
