"""`steward config validate | schema | docs` and `steward help`: the configuration and commands, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.config.loader import MAX_CONFIG_BYTES, parse_config
from app.config.model import RepoConfig
from app.config.reference import render_reference, render_schema
from app.config.result import ConfigResult
from app.settings import SettingsError, load_settings
from sandbox import images


def _read(path: Path) -> ConfigResult:
    """The file parsed, or exit 1 saying why it cannot be read."""
    try:
        raw = path.read_bytes()[: MAX_CONFIG_BYTES + 1]
        text = raw.decode("utf-8")
    except OSError as exc:
        typer.echo(f"{path}: cannot read: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    except UnicodeDecodeError:
        typer.echo(f"{path}: not UTF-8 text", err=True)
        raise typer.Exit(1) from None
    return parse_config(text)


def _problems(path: Path, result: ConfigResult) -> list[str]:
    problems = [issue.located(str(path)) for issue in result.errors]
    if not result.errors:
        problems += [f"{path}: {field}: {message}" for field, message in _image_problems(result.config)]
    return problems


def validate(path: Annotated[Path, typer.Argument(help="A .github/steward.yml to check.")]) -> None:
    """Check a configuration file: exit 0 when Steward can use it, 1 with each error (field and line)."""
    result = _read(path)
    problems = _problems(path, result)
    if problems:
        for problem in problems:
            typer.echo(problem, err=True)
        typer.echo(f"{len(problems)} error(s)", err=True)
        raise typer.Exit(1)
    typer.echo(f"{path}: valid")


def _image_problems(config: RepoConfig) -> list[tuple[str, str]]:
    """Images the file names that the settings here do not allow (the worker checks again with its own)."""
    try:
        allowed = load_settings().allowed_images
    except SettingsError:
        return []  # nothing to compare against; the worker checks again before any sandbox starts
    found = ((field, images.refusal(image, allowed, field)) for field, image in config.images().items())
    return [(field, problem) for field, problem in found if problem is not None]


def diff_command(
    base: Annotated[Path, typer.Argument(help="The configuration in force (the default branch's).")],
    head: Annotated[Path, typer.Argument(help="The proposed configuration.")],
) -> None:
    """What changes if HEAD replaces BASE: who may run each command, what each workflow may do, the noise
    limits. Exit 1 when HEAD is invalid (each error listed), 0 otherwise."""
    from app.config.simulate import diff

    before, after = _read(base), _read(head)
    base_problems, head_problems = _problems(base, before), _problems(head, after)
    for problem in base_problems:
        typer.echo(f"note: {problem} (the base is compared as Steward reads it)", err=True)
    if head_problems:
        for problem in head_problems:
            typer.echo(problem, err=True)
        typer.echo(
            f"{head}: invalid, {len(head_problems)} error(s): Steward would use the defaults and run no "
            "workflow that writes until it is fixed",
            err=True,
        )
        raise typer.Exit(1)
    changes = diff(before.config, after.config)
    if not changes:
        typer.echo(f"{base} -> {head}: no change in what Steward may do")
        return
    typer.echo(f"{base} -> {head}: {len(changes)} change(s)")
    for change in changes:
        typer.echo(f"  {change.line()}")


def schema() -> None:
    """Print the JSON schema of .github/steward.yml."""
    typer.echo(render_schema(), nl=False)


def docs() -> None:
    """Print the Markdown configuration reference, generated from the model."""
    typer.echo(render_reference(), nl=False)


def help_command(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the README's Markdown table.")] = False,
) -> None:
    """List the slash-commands, who may use each by default, and what each does."""
    from app.commands import REGISTRY, command_table_markdown
    from app.commands.help import who

    if markdown:
        typer.echo(command_table_markdown())
        return
    for spec in REGISTRY.specs():
        typer.echo(f"/steward {spec.usage:<28} {who(spec.permission):<9} {spec.summary}")


def register(app: typer.Typer) -> None:
    """Add `steward config ...` and `steward help`."""
    config = typer.Typer(help="Check and document .github/steward.yml.", no_args_is_help=True)
    config.command("validate")(validate)
    config.command("diff")(diff_command)
    config.command("schema")(schema)
    config.command("docs")(docs)
    app.add_typer(config, name="config")
    app.command("help")(help_command)
