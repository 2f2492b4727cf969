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
import requests

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


def _archive(client: docker.DockerClient, container_id: str) -> requests.Response:
    """GET the container's /workspace as a tar stream, holding the response itself: docker-py's get_archive
    hides it in a generator, so a refused pull could not close it, and the daemon went on sending (removing
    the container then waited for the stream, and the run's volume was left behind)."""
    api = client.api
    response: requests.Response = api._get(  # the request get_archive makes
        api._url("/containers/{0}/archive", container_id),
        params={"path": WORKSPACE},
        stream=True,
        headers={"Accept-Encoding": "identity"},
    )
    try:
        api._raise_for_status(response)
    except BaseException:
        response.close()
        raise
    return response


def pull(client: docker.DockerClient, container_id: str, workspace: Path, max_bytes: int) -> archive.Unpacked:
    """Replace the host's workspace with the container's /workspace, unpacked safely beside it first."""
    response = _archive(client, container_id)
    staging = Path(tempfile.mkdtemp(prefix=".steward-pull-", dir=workspace.parent))
    try:
        try:
            stream = _Stream(response.iter_content(archive.CHUNK, decode_unicode=False))
            done = archive.extract(stream, staging, max_bytes=max_bytes, strip="workspace")  # type: ignore[arg-type]
        finally:
            response.close()  # the rest is not wanted: closing the connection stops the daemon sending
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
