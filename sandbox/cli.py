"""`steward sandbox build | run`: make the image; try a repository's commands in the sandbox Steward uses."""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from app.settings import Settings
    from sandbox.base import CommandResult
    from sandbox.image import Source
    from sandbox.limits import Limits

# docker-py, pydantic and the settings are imported inside the commands: `--help` stays fast.
sandbox_app = typer.Typer(help="Build the sandbox image and run commands in a sandbox.", no_args_is_help=True)


def _settings() -> Settings:
    from app.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@sandbox_app.command("build")
def build(
    tag: Annotated[str | None, typer.Option(help="Image tag (default: STEWARD_SANDBOX_IMAGE).")] = None,
    source: Annotated[
        str, typer.Option("--from", help="auto (Dockerfile if a registry answers), rootfs or dockerfile.")
    ] = "auto",
) -> None:
    """Build the sandbox image (Python 3, venv, pip, git, pytest, coverage, hypothesis)."""
    from sandbox.base import SandboxError
    from sandbox.image import build_image

    if source not in ("auto", "rootfs", "dockerfile"):
        typer.echo("error: --from must be auto, rootfs or dockerfile", err=True)
        raise typer.Exit(2)
    name = tag or _settings().sandbox_image
    try:
        how = build_image(name, source=_as_source(source), progress=lambda line: typer.echo(line))
    except (SandboxError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{name} is ready (built from {how}).")


def _as_source(value: str) -> Source:
    return "rootfs" if value == "rootfs" else "dockerfile" if value == "dockerfile" else "auto"


@sandbox_app.command("run", context_settings={"allow_interspersed_args": False})
def run(
    cmd: Annotated[list[str], typer.Argument(help="The command, after `--`.")],
    repo: Annotated[Path, typer.Option(help="Directory copied into the sandbox.")] = Path("."),
    memory: Annotated[str, typer.Option(help="Memory (swap is equal, so none extra).")] = "512m",
    cpus: Annotated[float, typer.Option(help="CPU cores.")] = 1.0,
    pids: Annotated[int, typer.Option(help="Most processes and threads at once.")] = 128,
    timeout: Annotated[float, typer.Option(help="Wall seconds for the command.")] = 60.0,
    output: Annotated[str, typer.Option(help="Output kept before the command is cut.")] = "1m",
    disk: Annotated[str, typer.Option(help="What the workspace (the copy included) may hold.")] = "1g",
    network: Annotated[str, typer.Option(help="none, or setup (allowlisted hosts, via the proxy).")] = "none",
    image: Annotated[str | None, typer.Option(help="Image (default: STEWARD_SANDBOX_IMAGE).")] = None,
    ca_bundle: Annotated[
        Path | None, typer.Option(help="CA certificates the sandbox trusts (behind a TLS-inspecting proxy).")
    ] = None,
) -> None:
    """Run CMD over a copy of --repo in a sandbox; exit with its exit code and say which limit stopped it.

    In a git checkout, the copy holds what git tracks plus untracked files that are not ignored (so no
    `.venv`, no build output, no `.git`); any other directory is copied whole.
    """
    import anyio

    from sandbox.base import SandboxError
    from sandbox.copy import CopyError
    from sandbox.limits import Limits

    if network not in ("none", "setup"):
        typer.echo("error: --network must be none or setup", err=True)
        raise typer.Exit(2)
    if not repo.is_dir():
        typer.echo(f"error: {repo} is not a directory", err=True)
        raise typer.Exit(2)
    try:
        limits = Limits(
            memory=memory, cpus=cpus, pids=pids, command_timeout=timeout, output_bytes=output, disk=disk
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    image_name = image or _settings().sandbox_image
    allow = _settings().egress_allowlist if network == "setup" else []
    unguarded = network == "setup" and _settings().egress_without_firewall
    try:
        result = anyio.run(_run_copy, repo, cmd, limits, image_name, network, allow, ca_bundle, unguarded)
    except (SandboxError, CopyError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(125) from None
    if result.killed_by:
        typer.echo(f"\n{result.explanation}", err=True)
    raise typer.Exit(result.exit_code)


async def _run_copy(
    repo: Path,
    cmd: list[str],
    limits: Limits,
    image: str,
    network: str,
    allow: list[str],
    ca_bundle: Path | None,
    unguarded: bool,
) -> CommandResult:
    import anyio

    from sandbox import neutral, quota
    from sandbox.base import SandboxError
    from sandbox.copy import copy_repo
    from sandbox.docker_sandbox import DockerSandbox
    from sandbox.git import give_to_sandbox

    def write(chunk: bytes) -> None:
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()

    with tempfile.TemporaryDirectory(prefix="steward-sandbox-", dir=neutral.base()) as tmp:  # not $TMPDIR
        copy = Path(tmp) / "workspace"
        copy.mkdir()
        await anyio.to_thread.run_sync(
            quota.mount, copy, limits.disk
        )  # a quota, and no host path in mountinfo
        try:
            try:
                copy_repo(repo, copy, lambda line: typer.echo(f"steward: {line}", err=True))
            except OSError as exc:
                raise SandboxError(
                    f"{repo} does not fit in the workspace (--disk {limits.disk}): {exc}"
                ) from None
            give_to_sandbox(copy)
            sandbox = DockerSandbox(
                copy,
                limits,
                run_id=f"cli-{uuid.uuid4().hex[:12]}",
                image=image,
                network="setup" if network == "setup" else "none",
                allowlist=allow,
                ca_bundle=ca_bundle,
                egress_without_firewall=unguarded,
            )
            async with sandbox:
                return await sandbox.run(cmd, on_output=write)
        finally:
            await anyio.to_thread.run_sync(quota.unmount, copy)


def register(app: typer.Typer) -> None:
    """Add `steward sandbox ...` to `steward`."""
    app.add_typer(sandbox_app, name="sandbox")
