"""`steward runs list | show | cancel`: read the ledger from a terminal, and stop a run that is stuck."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import typer

from jobs.ledger.states import RunState

if TYPE_CHECKING:
    from jobs.ledger.ledger import Ledger

# The ledger (SQLAlchemy, Alembic) and the settings are imported inside the commands: `--help` stays fast.
runs = typer.Typer(help="Read the run ledger: what ran, why, and what it proposed.", no_args_is_help=True)
T = TypeVar("T")


def _with_ledger(body: Callable[[Ledger], Awaitable[T]]) -> T:
    """Open the configured ledger, run body on it, close it."""
    from app.settings import SettingsError, load_settings
    from jobs.ledger.ledger import Ledger

    try:
        url = load_settings().db_url
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None

    async def go() -> T:
        ledger = await Ledger.connect(url)
        try:
            return await body(ledger)
        finally:
            await ledger.close()

    return asyncio.run(go())


@runs.command("list")
def list_cmd(
    repo: str | None = typer.Option(
        None,
        "--repo",
        metavar="OWNER/NAME|DIR",
        help="Only this repository: owner/name, or a local checkout's directory (as `steward run` "
        "recorded it; `local:/path` also works).",
    ),
    state: RunState | None = typer.Option(
        None, "--state", metavar="STATE", help="Only runs in this state (queued, running, proposed...)."
    ),
    limit: int = typer.Option(50, "--limit", min=1, metavar="N", help="At most this many, newest first."),
) -> None:
    """List runs, newest first, one per line under a header."""
    from jobs.ledger.render import list_header, run_line
    from jobs.runs.localitem import repo_filter

    where = repo_filter(repo) if repo is not None else None

    async def body(ledger: Ledger) -> list[str]:
        return [run_line(run) for run in await ledger.list_runs(repo=where, state=state, limit=limit)]

    lines = _with_ledger(body)
    typer.echo("\n".join([list_header(), *lines]) if lines else "no runs")


@runs.command("show")
def show_cmd(
    run_id: str = typer.Argument(..., help="The run id (r-...)."),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="One JSON object: the run, its steps (kind, name, refused, tokens, cost), totals.",
    ),
) -> None:
    """Show one run's timeline: transitions, plan, approvals, steps, proposal and cost."""
    import json

    from jobs.ledger.jsonview import trace_json
    from jobs.ledger.render import render_timeline
    from jobs.ledger.states import RunNotFound

    async def body(ledger: Ledger) -> str:
        trace = await ledger.trace(run_id)
        return json.dumps(trace_json(trace), indent=2) + "\n" if as_json else render_timeline(trace)

    try:
        typer.echo(_with_ledger(body), nl=False)
    except RunNotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@runs.command("cancel")
def cancel_cmd(
    run_id: str = typer.Argument(..., help="The run id (r-...)."),
    reason: str = typer.Option(
        "", "--reason", metavar="TEXT", help="Why, recorded in the ledger with your user name."
    ),
) -> None:
    """Cancel a queued, planning, waiting or running run (what `/steward cancel` does to one run)."""
    from app.settings import load_settings
    from jobs.ledger.states import RunNotFound
    from jobs.runs.cancelling import CancelRefused, cancel_run

    actor = getpass.getuser()
    why = f"steward runs cancel by {actor}" + (f": {reason}" if reason else "")
    redis_url = load_settings().redis_url

    async def body(ledger: Ledger) -> list[str]:
        done = await cancel_run(ledger, run_id, actor=actor, reason=why, redis_url=redis_url)
        return [f"Cancelled {done.run.id} ({done.run.repo}#{done.run.number})."] + [
            f"  {note}" for note in done.notes
        ]

    try:
        typer.echo("\n".join(_with_ledger(body)))
    except (RunNotFound, CancelRefused) as exc:
        typer.echo(f"steward runs cancel: {exc}", err=True)
        raise typer.Exit(1) from None


@runs.command("replay")
def replay_cmd(
    run_id: str = typer.Argument(..., help="The run id (r-...) of an agent run."),
    repo: str | None = typer.Option(
        None,
        "--repo",
        metavar="DIR",
        help="The checkout to replay on (default: the one a local run recorded).",
    ),
) -> None:
    """Run the agent again on its recorded model responses (no model needed), in a fresh sandbox on the
    same base commit; say whether it made the same tool calls and the same diff. Exit 1 when they differ."""
    from pathlib import Path

    from app.settings import SettingsError, load_settings
    from jobs.ledger.states import RunNotFound
    from jobs.runs.localitem import LocalRunError
    from jobs.runs.replaying import replay_run

    try:
        settings = load_settings()
        report = asyncio.run(
            replay_run(settings.db_url, run_id, data_dir=settings.data_dir, image=settings.sandbox_image,
                       repo=Path(repo) if repo else None, servers=settings.mcp_servers)
        )  # fmt: skip
    except (RunNotFound, LocalRunError, SettingsError) as exc:
        typer.echo(f"steward runs replay: {exc}", err=True)
        raise typer.Exit(1) from None
    verdict = "the same tool calls and the same diff" if report.same else "a different run"
    typer.echo("\n".join([f"Replay {report.replay} of {report.original}: {verdict}.", *report.lines]))
    if not report.same:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `steward runs` to the command line."""
    app.add_typer(runs, name="runs")
