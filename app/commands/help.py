"""`/steward help` and the README's command table, both generated from the registry's records."""

from __future__ import annotations

from app.commands.context import CommandContext
from app.commands.registry import REGISTRY, allowed_here, effective_permission
from app.config.model import RepoConfig
from app.constants import DEFAULT_COMMAND_PREFIX


def who(role: str) -> str:
    """A role as a reader says it: `none` is anyone."""
    return "anyone" if role == "none" else role


def render_help(config: RepoConfig | None = None, unknown: str | None = None) -> str:
    """The commands this repository allows, and who may use each."""
    config = config or RepoConfig()
    prefix = config.prefix
    lines = []
    if unknown is not None:
        shown = "".join(c for c in unknown[:40] if c.isalnum() or c in "_.#-") or "?"
        lines += [f"`{prefix} {shown}` is not a command I know. These are:", ""]
    lines += ["| command | who | does |", "| --- | --- | --- |"]
    for spec in REGISTRY.specs():
        if not allowed_here(spec, config):
            continue
        role = who(effective_permission(spec, config))
        lines.append(f"| `{prefix} {spec.usage}` | {role} | {spec.summary} |")
    lines += [
        "",
        "Write a command at the start of a line of a comment; several commands may share one comment. "
        "Commands in quotes or code are ignored. Settings live in `.github/steward.yml`.",
    ]
    return "\n".join(lines)


def command_table_markdown(prefix: str = DEFAULT_COMMAND_PREFIX) -> str:
    """The README's table of every command with its default permission and examples."""
    lines = ["| command | where | who (default) | does | example |", "| --- | --- | --- | --- | --- |"]
    for spec in REGISTRY.specs():
        example = "<br>".join(f"`{e}`" for e in spec.examples) if spec.examples else ""
        usage, role = f"`{prefix} {spec.usage}`", who(spec.permission)
        lines.append(f"| {usage} | {spec.where} | {role} | {spec.summary} | {example} |")
    return "\n".join(lines)


async def help_command(ctx: CommandContext) -> str:
    """`/steward help`: the table for this repository's prefix and settings."""
    return render_help(ctx.config)
