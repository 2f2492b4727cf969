"""`/steward status`: the runs here, read from the ledger."""

from app.commands.record import CommandSpec

COMMAND = CommandSpec(
    "status",
    usage="status",
    permission="none",
    summary="shows the runs here, their states, ages and costs",
    examples=("/steward status",),
    handler="app.commands.status:status",
)
