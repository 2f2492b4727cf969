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
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

import docker
import requests
from docker.errors import DockerException

from sandbox import archive
from sandbox.base import SandboxError
from sandbox.container import KEEPER_USER
from sandbox.image import SANDBOX_UID

Transfer = Literal["auto", "bind", "archive"]
WORKSPACE = "/workspace"
LISTING = ["find", WORKSPACE, "-xdev", "-printf", "%s %b\n"]
"""What the disk watchdog asks the container for: each entry's apparent size and its 512-byte blocks."""
BLOCK = 4096
"""What even an empty file costs (as sandbox/diskwatch.py counts it)."""
_INSPECT_TRIES = 50
CLEAR = (
    f"find {WORKSPACE} -mindepth 1 -maxdepth 1 ! -type l -exec chmod -R u+rwX {{}} + && "
    f"find {WORKSPACE} -mindepth 1 -delete"
)
"""Everything in the volume is the sandbox user's: what a command made unreadable is opened up first (links
left alone: chmod would follow one named to it), so nothing it wrote (past the disk budget, say) outlives the
host's copy."""


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
    user = f"{SANDBOX_UID}:{SANDBOX_UID}"
    exec_id = client.api.exec_create(container_id, ["sh", "-c", CLEAR], user=user)["Id"]
    said = bytes(client.api.exec_start(exec_id)).decode(errors="replace")
    if _exit_code(client, exec_id) != 0:
        raise SandboxError(
            f"the container's workspace could not be cleared for the host's copy: {said[-500:]}"
        )
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


def usage(client: docker.DockerClient, container_id: str, budget: int) -> int:
    """Bytes the container's /workspace takes (apparent or allocated, whichever is larger, BLOCK at least per
    entry), counting stops past `budget`: the disk watchdog's measure on a remote daemon.

    Listed by `find` as the keeper user, whom the sandbox's processes cannot signal or trace; where it cannot
    list everything (a directory the sandbox made unreadable, a failed exec), the daemon's own archive of the
    volume is counted instead, which it reads as root. 0 when Docker cannot say (the next look tries again).
    """
    try:
        listed = _listed(client, container_id, budget)
        return listed if listed is not None else _archived(client, container_id, budget)
    except (DockerException, requests.exceptions.RequestException, OSError):
        return 0


def _listed(client: docker.DockerClient, container_id: str, budget: int) -> int | None:
    """The listing's total (None when find did not read it all)."""
    api = client.api
    exec_id = api.exec_create(container_id, LISTING, stdout=True, stderr=False, user=KEEPER_USER)["Id"]
    stream = api.exec_start(exec_id, stream=True, demux=False)
    total, rest = 0, b""
    try:
        for chunk in stream:
            *lines, rest = (rest + chunk).split(b"\n")
            for line in lines:
                size, _, blocks = line.partition(b" ")
                total += max(int(size), int(blocks) * 512, BLOCK)
            if total > budget:
                return total  # enough: the rest is not read (closing the stream ends it)
    except ValueError:
        return None
    finally:
        stream.close()
        stream._response.close()  # as sandbox/execution.py: docker-py's close() leaves it open
    return total if _exit_code(client, exec_id) == 0 and not rest else None


def _exit_code(client: docker.DockerClient, exec_id: str) -> int | None:
    """The exec's exit code once the daemon has recorded it (None: it still runs, as far as it says)."""
    for _ in range(_INSPECT_TRIES):  # the output can end a moment before the daemon records the exit
        info = client.api.exec_inspect(exec_id)
        if not info.get("Running"):
            code = info.get("ExitCode")
            return int(code) if code is not None else None
        time.sleep(0.02)
    return None


def _archived(client: docker.DockerClient, container_id: str, budget: int) -> int:
    """The bytes of the volume's tar stream (contents and headers), read until past `budget`."""
    response = _archive(client, container_id)
    total = 0
    try:
        for chunk in response.iter_content(archive.CHUNK, decode_unicode=False):
            total += len(chunk)
            if total > budget:
                break
    finally:
        response.close()
    return total
