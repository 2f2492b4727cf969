"""`steward run docs`: the docs workflow against a local checkout, on the embedded defaults."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from app.settings import SettingsError, load_settings
from jobs.runs.local import LocalOptions, run_local
from jobs.runs.localitem import LocalRunError

run = typer.Typer(help="Run a workflow against a local checkout (nothing is pushed).", no_args_is_help=True)


@run.command("docs")
def docs(
    repo: Path = typer.Option(..., "--repo", help="The local git checkout to work on (its HEAD, clean)."),
    issue_json: Path | None = typer.Option(
        None,
        "--issue-json",
        help="Output of `gh issue view N --json number,title,body,labels,state,url`; "
        "without it, the issue or PR the last commit names (#N).",
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Approve the plan without asking."),
) -> None:
    """Plan, approve, work in the sandbox, commit on `steward/docs/<number>`; print the diff and PR text."""
    try:
        settings = load_settings()
        options = LocalOptions(
            repo=repo.resolve(),
            issue_json=issue_json,
            yes=yes,
            db_url=settings.db_url,
            image=settings.sandbox_image,
            allowed_images=settings.allowed_images,
            data_dir=settings.data_dir,
        )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        asyncio.run(
            run_local(
                options,
                typer.echo,
                lambda text: typer.confirm(text, default=False),
                lambda text: typer.echo(text, err=True),
            )
        )
    except (LocalRunError, SettingsError) as exc:
        typer.echo(f"steward run: {exc}", err=True)
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    """Add `steward run` to `steward`."""
    app.add_typer(run, name="run")
