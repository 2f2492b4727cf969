"""`steward worker` runs the queue, `steward migrate` readies the ledger, `steward doctor` checks the rest."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from app.settings import Settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
WORKER_NEEDS = ("app_id", "private_key", "redis_url")
"""Settings without which the worker cannot mint tokens or read its queue."""


def _settings_or_exit(*names: str) -> Settings:
    from app.settings import SettingsError, load_settings

    try:
        settings = load_settings().require(*names)
        if "private_key" in names:
            settings.private_key_pem()  # an unreadable STEWARD_PRIVATE_KEY_PATH fails here, not in a job
        return settings
    except SettingsError as exc:
        typer.echo(f"steward: {exc}", err=True)
        raise typer.Exit(2) from None


def worker(
    burst: Annotated[
        bool, typer.Option(help="Stop once the queue is empty (for scripts and tests).")
    ] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="Serve this worker's Prometheus metrics on 127.0.0.1:PORT/metrics.",
            envvar="STEWARD_WORKER_METRICS_PORT",
            min=1,
            max=65535,
        ),
    ] = None,
) -> None:
    """Run the arq worker: it answers commands, records installations and runs the workflows."""
    from app.github.redact import install_redaction
    from app.observability.worker import serve_metrics
    from jobs import heap
    from jobs.doctor import check_key
    from jobs.outage import StewardWorker
    from jobs.worker import worker_settings

    settings = _settings_or_exit(*WORKER_NEEDS)
    key = check_key(settings)
    if not key.ok:
        typer.echo(f"steward: {key.detail}; {key.fix}", err=True)
        raise typer.Exit(2)
    logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT)
    install_redaction()
    heap.tune()  # before the worker's threads (one per database connection) exist
    if metrics_port is not None:
        try:
            serve_metrics(metrics_port)
        except OSError as exc:
            typer.echo(f"steward: cannot serve metrics on 127.0.0.1:{metrics_port}: {exc.strerror}", err=True)
            raise typer.Exit(2) from None
    # arq handles SIGINT/SIGTERM: jobs in flight are cancelled and re-queued for the next worker.
    StewardWorker(**worker_settings(settings), burst=burst).run()


def migrate() -> None:
    """Apply the ledger's migrations and exit: run once before serve and the workers start (safe again)."""
    from jobs.db import make_engine
    from jobs.db import migrate as upgrade
    from jobs.worker import safe_url

    settings = _settings_or_exit()

    async def run() -> None:
        engine = make_engine(settings.db_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except Exception as exc:
        first = f"{type(exc).__name__}: {exc}".splitlines()[0]
        typer.echo(f"steward: migrating {safe_url(settings.db_url)} failed: {first}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"migrated {safe_url(settings.db_url)} to the newest schema")


def doctor(
    worker: Annotated[
        bool,
        typer.Option(
            "--worker",
            help="Only check that the worker on this host is alive: its Redis heartbeat, its Docker daemon.",
        ),
    ] = False,
) -> None:
    """Check Redis, the database, Docker, the sandbox image and the GitHub App credentials."""
    from app.settings import SettingsError, load_settings
    from jobs.doctor import check_docker, check_worker, run_checks

    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(f"FAIL  settings           {exc}\n      fix: correct the STEWARD_* variables named above")
        raise typer.Exit(1) from None
    if worker:  # the compose file's health check of the worker container
        checks = [asyncio.run(check_worker(settings)), check_docker()]
    else:
        checks = asyncio.run(run_checks(settings))
    for check in checks:
        typer.echo(check.line())
    failed = [c.name for c in checks if c.required and not c.ok]
    if failed:
        typer.echo(f"\n{len(failed)} required check(s) failed: {', '.join(failed)}")
        raise typer.Exit(1)
    typer.echo("\nall required checks passed")


def register(app: typer.Typer) -> None:
    """Add `worker`, `migrate` and `doctor` to `steward`."""
    app.command()(worker)
    app.command()(migrate)
    app.command()(doctor)
