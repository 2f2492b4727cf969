"""`steward runs list | show`: read the ledger from a terminal."""

from __future__ import annotations

import asyncio

import typer

from app.settings import SettingsError, load_settings
from jobs.ledger.ledger import Ledger
from jobs.ledger.render import render_timeline, run_line
from jobs.ledger.states import RunNotFound, RunState

runs = typer.Typer(help="Read the run ledger: what ran, why, and what it proposed.", no_args_is_help=True)


async def _open() -> Ledger:
    try:
        url = load_settings().db_url
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    return await Ledger.connect(url)


@runs.command("list")
def list_cmd(
    repo: str | None = typer.Option(None, "--repo", help="Only this repository (owner/name)."),
    state: RunState | None = typer.Option(None, "--state", help="Only runs in this state."),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many, newest first."),
) -> None:
    """List runs, newest first."""

    async def go() -> list[str]:
        ledger = await _open()
        try:
            return [run_line(run) for run in await ledger.list_runs(repo=repo, state=state, limit=limit)]
        finally:
            await ledger.close()

    lines = asyncio.run(go())
    typer.echo("\n".join(lines) if lines else "no runs")


@runs.command("show")
def show_cmd(run_id: str = typer.Argument(..., help="The run id (r-...).")) -> None:
    """Show one run's timeline: transitions, plan, approvals, steps, proposal and cost."""

    async def go() -> str:
        ledger = await _open()
        try:
            return render_timeline(await ledger.trace(run_id))
        finally:
            await ledger.close()

    try:
        typer.echo(asyncio.run(go()), nl=False)
    except RunNotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    """Add `steward runs` to the command line."""
    app.add_typer(runs, name="runs")
