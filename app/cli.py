"""The `steward` command line: each area registers its sub-commands; an area is imported only when used."""

from __future__ import annotations

import functools
import importlib

import typer
import typer.main
from typer import _click as click  # typer vendors click; its commands are these classes, not `click`'s
from typer._click.utils import make_default_short_help
from typer.core import TyperGroup

from app import __version__

COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("app.web.cli", "Receive GitHub's webhooks on POST /webhooks (plus /healthz and /readyz)."),
    "deliver": (
        "app.web.cli",
        "Sign a saved payload with the configured webhook secret and post it, as GitHub would.",
    ),
    "help": ("app.config.cli", "List the slash-commands, who may use each by default, and what each does."),
    "worker": (
        "jobs.cli",
        "Run the arq worker: it answers commands, records installations and runs the workflows.",
    ),
    "migrate": (
        "jobs.cli",
        "Apply the ledger's migrations and exit: run once before serve and the workers start (safe again).",
    ),
    "doctor": (
        "jobs.cli",
        "Check Redis, the database, Docker, the sandbox image and the GitHub App credentials.",
    ),
    "config": ("app.config.cli", "Check and document .github/steward.yml."),
    "runs": ("jobs.ledger.cli", "Read the run ledger: what ran, why, and what it proposed."),
    "run": ("jobs.local", "Run a workflow against a local checkout (nothing is pushed)."),
    "sandbox": ("sandbox.cli", "Build the sandbox image and run commands in a sandbox."),
    "eval": ("jobs.duplicates.cli", "Measure Steward's workflows on labelled data."),
    "duplicates": ("jobs.duplicates.cli", "Maintain the duplicate index."),
    "digest": (
        "jobs.digest.cli",
        "Print a repository's weekly review digest, read with the App's credentials; nothing is posted.",
    ),
    "shadow": ("jobs.shadow.cli", "Score shadow-mode runs against what maintainers did afterwards."),
}
"""Each command, the module whose `register(app: typer.Typer)` adds it, and its first help line.

`steward --help` prints this table instead of importing every area (SQLAlchemy, githubkit, docker-py...), so
it answers in a fraction of a second; tests/test_cli_startup.py checks the table against the real commands."""


def _plain(command: click.Command) -> click.Command:
    """Plain click help for the command and everything under it: no `<bool>` metavar on switches, no rich."""
    if hasattr(command, "rich_markup_mode"):
        command.rich_markup_mode = None
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            _plain(sub)
    return command


@functools.cache
def area(module: str) -> TyperGroup:
    """The click group of every command one area module registers (imported on first use)."""
    sub = typer.Typer(rich_markup_mode=None, add_completion=False, pretty_exceptions_enable=False)
    importlib.import_module(module).register(sub)
    group = typer.main.get_group(sub)
    _plain(group)
    return group


class LazyGroup(TyperGroup):
    """The top-level group: lists COMMANDS without importing them, loads one when it is called."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        command: click.Command | None = area(COMMANDS[cmd_name][0]).commands.get(cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, make_default_short_help(text, limit)) for name, (_, text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    name="steward",
    cls=LazyGroup,
    help="Steward: a GitHub App that does a repository's upkeep in a sandbox, on a branch, behind a review.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"steward {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_show_version, help="Print Steward's version and exit."
    ),
) -> None:
    """Steward: a GitHub App that does a repository's upkeep in a sandbox, on a branch, behind a review."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
