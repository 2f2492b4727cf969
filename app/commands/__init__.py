"""Slash-commands: parse them from comments, look up their records, check who may run them, answer them."""

from app.commands import builtin as _builtin  # noqa: F401  (declares the commands)
from app.commands.help import command_table_markdown, render_help
from app.commands.parser import MAX_COMMANDS, ParsedCommand, parse_commands
from app.commands.registry import (
    REGISTRY,
    CommandContext,
    CommandSpec,
    Handler,
    allowed_here,
    authorize,
    command,
    effective_permission,
    handler,
    refusal_text,
)

__all__ = [
    "MAX_COMMANDS",
    "REGISTRY",
    "CommandContext",
    "CommandSpec",
    "Handler",
    "ParsedCommand",
    "allowed_here",
    "authorize",
    "command",
    "command_table_markdown",
    "effective_permission",
    "handler",
    "parse_commands",
    "refusal_text",
    "render_help",
]
