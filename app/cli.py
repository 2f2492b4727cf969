"""The `steward` command line: each area registers its own sub-commands, composed here once."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="steward",
    help="Steward: a GitHub App that does a repository's upkeep in a sandbox, on a branch, behind a review.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each module defines `register(app: typer.Typer) -> None`.
AREAS = (
    "app.web.cli",  # serve, deliver
    "app.config.cli",  # config validate | schema | docs, help
    "jobs.cli",  # worker, doctor
    "jobs.ledger.cli",  # runs list | show
    "jobs.local",  # run docs
    "sandbox.cli",  # sandbox build | run
    "jobs.duplicates.cli",  # eval duplicates
)

for area in AREAS:
    importlib.import_module(area).register(app)


def main() -> None:
    app()
