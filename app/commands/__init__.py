"""Slash-commands: parse them from comments, look up their records, check who may run them, answer them."""

from app.commands.context import CommandContext, Handler
from app.commands.help import command_table_markdown, render_help
from app.commands.parser import MAX_COMMANDS, ParsedCommand, parse_commands
from app.commands.record import CommandSpec
from app.commands.registry import (
    REGISTRY,
    allowed_here,
    authorize,
    effective_permission,
    handler_of,
    refusal_hook_of,
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
    "command_table_markdown",
    "effective_permission",
    "handler_of",
    "parse_commands",
    "refusal_hook_of",
    "refusal_text",
    "render_help",
]
