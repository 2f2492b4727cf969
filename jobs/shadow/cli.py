"""`steward shadow report`: how the shadow runs compare with what maintainers did afterwards."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from app.settings import Settings
    from jobs.shadow.report import Clients, ReportGitHub

# The ledger, githubkit and the settings are imported inside the command: `--help` stays fast.
shadow = typer.Typer(
    help="Score shadow-mode runs against what maintainers did afterwards.", no_args_is_help=True
)
REPORT_PERMISSIONS = {"contents": "read", "issues": "read", "pull_requests": "read", "metadata": "read"}
"""The report reads with the operator's App credentials, through tokens that can only read."""


def app_clients(settings: Settings) -> Clients:
    """Each repository's client from the App's credentials: its installation, then a read-only token."""
    from app.github.client import app_github, installation_client
    from app.github.errors import GitHubRefused
    from app.github.protocol import RepoId
    from app.github.retrying import request

    async def client(repo: str) -> ReportGitHub | str:
        try:
            found = await request(app_github(settings), "GET", f"repos/{repo}/installation")
        except GitHubRefused as exc:
            if exc.status == 404:
                return f"Steward's App is not installed on {repo}"
            raise
        installation = int(found.raw_response.json()["id"])
        return await installation_client(settings, installation, RepoId.parse(repo), REPORT_PERMISSIONS)

    return client


@shadow.command("report")
def report_cmd(
    repo: str | None = typer.Option(None, "--repo", metavar="OWNER/NAME", help="Only this repository."),
    since: str = typer.Option(
        "30d",
        "--since",
        metavar="DURATION",
        help="Shadow runs this recent: hours, days or weeks (12h, 30d, 2w).",
    ),
    limit: int = typer.Option(
        200,
        "--limit",
        min=1,
        max=5000,
        metavar="N",
        help="Items read on GitHub at most (a few requests each).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of the table."),
) -> None:
    """Score the shadow runs: duplicate suggestions against items later closed as duplicates (or said not to
    be), proposed changelog entries against entries people added by hand in the change."""
    from app.github.protocol import RepoId
    from app.settings import SettingsError, load_settings
    from jobs.ledger.views import utcnow
    from jobs.shadow.report import parse_since

    try:
        hours = parse_since(since)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None
    if repo is not None:
        try:
            RepoId.parse(repo)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--repo") from None
    try:
        settings = load_settings().require("app_id", "private_key")
    except SettingsError as exc:
        typer.echo(f"steward shadow report reads GitHub with the App's credentials: {exc}", err=True)
        raise typer.Exit(2) from None
    text = asyncio.run(_report(settings, repo, utcnow() - timedelta(hours=hours), limit, as_json))
    typer.echo(text)


async def _report(settings: Settings, repo: str | None, since: object, limit: int, as_json: bool) -> str:

    from jobs.ledger.ledger import Ledger
    from jobs.shadow.render import render_json, render_text
    from jobs.shadow.report import build_report

    assert isinstance(since, datetime)
    ledger = await Ledger.connect(settings.db_url)
    try:
        sessions = ledger._sessions
        report = await build_report(
            ledger, sessions, app_clients(settings), since=since, repo=repo, limit=limit
        )
    finally:
        await ledger.close()
    return render_json(report) if as_json else render_text(report)


def register(app: typer.Typer) -> None:
    """Add `steward shadow` to the command line."""
    app.add_typer(shadow, name="shadow")
