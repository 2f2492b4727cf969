"""A second, private dockerd on loopback TCP: what a sandbox sees when DOCKER_HOST names another machine.

Its own data root, exec root, pidfile and socket; no bridge, no iptables, so it leaves the main daemon and
the host's firewall alone. The sandbox image is copied in from the main daemon (save, then load via the API).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docker
from docker.errors import DockerException

START_SECONDS = 120


class NoDockerd(Exception):
    """dockerd cannot start on this machine at all; the message says why."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def private_dockerd(root: Path) -> Iterator[str]:
    """Start it; yield its DOCKER_HOST (tcp://127.0.0.1:PORT); stop it and remove its state."""
    binary = shutil.which("dockerd")
    if binary is None:
        raise NoDockerd("dockerd is not installed (apt-get install docker.io)")
    port = _free_port()
    host = f"tcp://127.0.0.1:{port}"
    root.mkdir(parents=True, exist_ok=True)
    argv = [
        binary,
        f"--data-root={root / 'data'}",
        f"--exec-root={root / 'exec'}",
        f"--pidfile={root / 'dockerd.pid'}",
        f"--host={host}",
        "--bridge=none",
        "--iptables=false",
        "--ip-masq=false",
        "--log-level=warn",
    ]
    log = (root / "dockerd.log").open("wb")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(host, process, root)
        yield host
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        log.close()
        subprocess.run(["umount", "-R", str(root / "data")], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


def _wait(host: str, process: subprocess.Popen[bytes], root: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = (root / "dockerd.log").read_text(errors="replace")[-2000:]
            raise NoDockerd(f"dockerd exited with {process.returncode}: {tail}")
        try:
            client = docker.DockerClient(base_url=host, timeout=5)  # asks the daemon its version
        except DockerException:
            time.sleep(0.5)
            continue
        client.close()
        return
    raise NoDockerd(f"dockerd did not answer on {host} within {START_SECONDS} s")


def copy_image(source: docker.DockerClient, target: docker.DockerClient, image: str) -> None:
    """The image, saved from one daemon and loaded into the other, streamed (no registry needed)."""
    chunks = source.api.get_image(image)
    target.api.load_image(_Joined(chunks))  # type: ignore[arg-type]
    target.images.get(image)


class _Joined:
    """A file-like over docker-py's chunks, for load_image's streaming upload."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = iter(chunks)

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks
