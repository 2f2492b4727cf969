"""How the workspace reaches the container: a bind mount (local daemon) or tar streams through the API.

`archive` serves a Docker daemon on another machine (DOCKER_HOST=tcp://... or ssh://...), which cannot see
the host's paths: the workspace lives in a named volume per run; before each command the host's copy is
packed into it, after each command the container's copy is unpacked back (sandbox/archive.py, which never
follows a path the container names) and replaces the host's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

import docker

from sandbox import archive
from sandbox.base import SandboxError
from sandbox.image import SANDBOX_UID

Transfer = Literal["auto", "bind", "archive"]
WORKSPACE = "/workspace"


def choose(setting: Transfer, environ: Mapping[str, str] | None = None) -> Literal["bind", "archive"]:
    """`auto`: bind when the daemon is on this machine (no DOCKER_HOST, or a unix socket), else archive."""
    if setting != "auto":
        return setting
    host = (os.environ if environ is None else environ).get("DOCKER_HOST", "")
    return "bind" if host == "" or host.startswith("unix://") else "archive"


def volume_name(run_id: str) -> str:
    return f"steward-ws-{run_id}"


def push(client: docker.DockerClient, container_id: str, workspace: Path) -> None:
    """Replace the container's /workspace with the host's copy (the container's processes are quiet)."""
    exec_id = client.api.exec_create(
        container_id,
        ["find", WORKSPACE, "-mindepth", "1", "-delete"],
        user=f"{SANDBOX_UID}:{SANDBOX_UID}",
    )["Id"]
    client.api.exec_start(exec_id)
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024**2) as spool:
        archive.pack(workspace, spool, uid=SANDBOX_UID, gid=SANDBOX_UID)
        spool.seek(0)
        if not client.api.put_archive(container_id, WORKSPACE, _chunks(spool)):
            raise SandboxError("the Docker host refused the workspace archive")


def _chunks(handle: tempfile.SpooledTemporaryFile[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(archive.CHUNK):
        yield chunk


class _Stream:
    """A file-like view of docker-py's chunk iterator, for tarfile's stream mode."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buffer = chunks, b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


def pull(client: docker.DockerClient, container_id: str, workspace: Path, max_bytes: int) -> archive.Unpacked:
    """Replace the host's workspace with the container's /workspace, unpacked safely beside it first."""
    chunks, _stat = client.api.get_archive(container_id, WORKSPACE, chunk_size=archive.CHUNK)
    staging = Path(tempfile.mkdtemp(prefix=".steward-pull-", dir=workspace.parent))
    try:
        try:
            done = archive.extract(_Stream(iter(chunks)), staging, max_bytes=max_bytes, strip="workspace")  # type: ignore[arg-type]
        except BaseException:
            # The rest of the stream is not wanted: closing the connections stops the daemon sending it (else
            # it holds the container busy, and removing it waits for the stream)
            client.api.close()
            raise
        for child in list(workspace.iterdir()):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        for child in staging.iterdir():  # our own files: a copy (another filesystem) follows no link
            shutil.move(child, workspace / child.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return done
