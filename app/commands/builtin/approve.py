"""`/steward approve`: run the waiting plan."""

from app.commands.record import CommandSpec

COMMAND = CommandSpec(
    "approve",
    usage="approve",
    permission="maintain",
    floor="write",
    where="where a plan waits",
    summary="runs the waiting plan, minus unticked steps",
    examples=("/steward approve",),
    handler="jobs.commands.approve:approve",
    on_refused="jobs.commands.approve:record_refusal",
)
