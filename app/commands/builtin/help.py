"""`/steward help`: the commands this repository allows, generated from these records."""

from app.commands.record import CommandSpec

COMMAND = CommandSpec(
    "help",
    usage="help",
    permission="none",
    summary="lists the commands this repository allows, and who may use each",
    examples=("/steward help",),
    handler="app.commands.help:help_command",
)
