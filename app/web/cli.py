"""`steward serve` runs the receiver; `steward deliver` replays a saved payload to it, signed like GitHub."""

from __future__ import annotations

import contextlib
import logging
import uuid
from pathlib import Path
from typing import Annotated

import httpx
import typer

from app.settings import Settings, SettingsError, load_settings
from app.web.body import sign

DEFAULT_URL = "http://127.0.0.1:8000/webhooks"
DELIVER_TIMEOUT_SECONDS = 30.0
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _settings_or_exit(*names: str) -> Settings:
    try:
        return load_settings().require(*names)
    except SettingsError as exc:
        typer.echo(f"steward: {exc}", err=True)
        raise typer.Exit(2) from None


def configure_logging(level: str) -> None:
    """Log to stderr; the receiver writes a line per delivery, so records skip what LOG_FORMAT never shows."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
    # The logging HOWTO's "Optimization" switches: no thread, process or caller lookups for each record.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Receive GitHub's webhooks on POST /webhooks (plus /healthz and /readyz)."""
    import uvicorn

    from app.web.app import create_app
    from app.web.server import settle_heap, uvicorn_config

    settings = _settings_or_exit("webhook_secret")
    configure_logging(settings.log_level)
    # The receiver logs every delivery with its event, delivery id and decision: the access log adds nothing.
    config = uvicorn_config(
        create_app(settings), settings, host, port, log_level=settings.log_level.lower(), access_log=False
    )
    server = uvicorn.Server(config)
    settle_heap()
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        raise typer.Exit(3)  # as uvicorn.run: it could not start (the port is taken, say), and said why


def deliver(
    file: Annotated[
        Path, typer.Argument(help="A saved webhook payload (JSON).", exists=True, dir_okay=False)
    ],
    event: Annotated[str, typer.Option(help="The X-GitHub-Event name, e.g. issue_comment.")],
    url: Annotated[str, typer.Option(help="The receiver's webhook URL.")] = DEFAULT_URL,
    delivery: Annotated[
        str | None, typer.Option(help="The X-GitHub-Delivery id (default: a new UUID).")
    ] = None,
) -> None:
    """Sign a saved payload with the configured webhook secret and post it, as GitHub would."""
    settings = _settings_or_exit("webhook_secret")
    assert settings.webhook_secret is not None
    body = file.read_bytes()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "steward-deliver",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(settings.webhook_secret.get_secret_value().encode(), body),
    }
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=DELIVER_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        typer.echo(f"steward: cannot deliver to {url}: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{response.status_code} {describe(response)}")
    if not response.is_success:
        raise typer.Exit(1)


def describe(response: httpx.Response) -> str:
    """The receiver's answer in one line: a refusal's JSON error, or what a 202's X-Steward-* headers say."""
    if response.content or "x-steward-outcome" not in response.headers:
        return response.text
    said = [response.headers["x-steward-outcome"]]
    if "x-steward-jobs" in response.headers:
        said.append(f"jobs={response.headers['x-steward-jobs']}")
    if "x-steward-reason" in response.headers:
        said.append(f"({response.headers['x-steward-reason']})")
    return " ".join(said)


def register(app: typer.Typer) -> None:
    """Add `serve` and `deliver` to `steward`."""
    app.command()(serve)
    app.command()(deliver)
