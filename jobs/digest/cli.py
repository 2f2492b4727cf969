"""`steward digest`: preview a repository's weekly review on the terminal (the worker's pass publishes it)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer


def digest(
    repo: Annotated[str, typer.Option("--repo", metavar="OWNER/NAME", help="The repository.")],
    since: Annotated[
        str, typer.Option("--since", metavar="SPAN", help="How far back: 7d, 36h, 2w (at most 90 days).")
    ] = "7d",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the digest and post nothing (the only mode offered).")
    ] = False,
) -> None:
    """Print a repository's weekly review digest, read with the App's credentials; nothing is posted."""
    from app.github.errors import GitHubRefused, GitHubUnavailable, RateLimited
    from app.settings import SettingsError, load_settings
    from jobs.digest.preview import PreviewError, parse_repo, preview
    from jobs.digest.window import parse_since

    try:
        target, span = parse_repo(repo), parse_since(since)
        if not dry_run:
            raise PreviewError(
                "add --dry-run: `steward digest` only previews; the worker's hourly pass publishes digests"
            )
        settings = load_settings().require("app_id", "private_key")
        settings.private_key_pem()
        body, warnings = asyncio.run(preview(settings, target, span))
    except (PreviewError, ValueError, SettingsError) as exc:
        typer.echo(f"steward: {exc}", err=True)
        raise typer.Exit(2) from None
    except (GitHubRefused, GitHubUnavailable, RateLimited) as exc:
        typer.echo(f"steward: {exc}", err=True)
        raise typer.Exit(1) from None
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(body, nl=False)


def register(app: typer.Typer) -> None:
    """Add `digest` to `steward`."""
    app.command()(digest)
