"""A private Docker daemon for the tests that restart one or need one that cannot see the host's paths.

Its own data root, exec root, pid file, socket (a unix socket, or loopback TCP for a "remote" daemon),
containerd namespace and its own bridge, so the main daemon, which other tests use, is never touched.
Not `--bridge=none`: dockerd started that way deletes the host's `docker0`, and every later `docker build` on
the main daemon fails with "failed to find bridge docker0".
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker

from app.settings import DEFAULT_IMAGE

ROOT = Path("/var/tmp/steward-test-dockerd")  # kept between sessions, so the image is loaded once
START_SECONDS = 120


class NoDockerd(Exception):
    """dockerd cannot start on this machine at all; the message says why."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def docker0() -> bool:
    """Whether the host has the main daemon's bridge (a private daemon must leave it as it found it)."""
    return subprocess.run(["ip", "link", "show", "docker0"], capture_output=True).returncode == 0


class PrivateDockerd:
    def __init__(self, root: Path = ROOT, *, tcp: bool = False) -> None:
        self.root = root
        self.pidfile = root / "docker.pid"
        self.bridge = "stw-" + hashlib.sha256(str(root).encode()).hexdigest()[:8]  # at most 15 characters
        """Also its containerd namespace: two private daemons on one containerd never see each other's."""
        self.host = f"tcp://127.0.0.1:{_free_port()}" if tcp else f"unix://{root / 'docker.sock'}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("dockerd")
        if binary is None:
            raise NoDockerd("dockerd is not installed (apt-get install docker.io)")
        (self.root / "exec").mkdir(parents=True, exist_ok=True)
        self._ensure_bridge()
        with (self.root / "dockerd.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [binary, "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
                 "--pidfile", str(self.pidfile), "-H", self.host, "--bridge", self.bridge, "--iptables=false",
                 "--ip6tables=false", "--ip-masq=false", "--containerd-namespace", self.bridge,
                 "--containerd-plugins-namespace", f"{self.bridge}-plugins"],
                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self._answers():
                return
            if self.proc.poll() is not None:
                tail = (self.root / "dockerd.log").read_text(errors="replace")[-2000:]
                raise NoDockerd(f"dockerd exited with {self.proc.returncode}: {tail}")
            time.sleep(0.2)
        raise NoDockerd(f"the private dockerd did not answer on {self.host} within {START_SECONDS} s")

    def _ensure_bridge(self) -> None:
        if subprocess.run(["ip", "link", "show", self.bridge], capture_output=True).returncode == 0:
            return
        made = subprocess.run(
            ["ip", "link", "add", "name", self.bridge, "type", "bridge"], capture_output=True
        )
        if made.returncode != 0:
            raise NoDockerd(f"cannot create the bridge {self.bridge}: {made.stderr.decode(errors='replace')}")

    def _answers(self) -> bool:
        """GET /_ping over a plain socket, closed whatever happens (docker-py's unix adapter leaks the socket
        of a request that fails while the daemon starts)."""
        unix = self.host.startswith("unix://")
        sock = socket.socket(socket.AF_UNIX if unix else socket.AF_INET)
        with sock:
            try:
                sock.settimeout(5)
                if unix:
                    sock.connect(self.host.removeprefix("unix://"))
                else:
                    host, port = self.host.removeprefix("tcp://").rsplit(":", 1)
                    sock.connect((host, int(port)))
                sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                return sock.recv(64).split(b" ", 2)[1:2] == [b"200"]
            except OSError:
                return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self, *, remove: bool = False) -> None:
        """Stop it and delete its bridge; with `remove`, its data root too."""
        self.stop()
        subprocess.run(["ip", "link", "delete", self.bridge], capture_output=True, check=False)
        if remove:
            subprocess.run(["umount", "-R", str(self.root / "data")], capture_output=True, check=False)
            shutil.rmtree(self.root, ignore_errors=True)

    def client(self, timeout: int = 120) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.host, timeout=timeout)

    def load_image(self, image: str = DEFAULT_IMAGE) -> None:
        """Copy the image from the main daemon (DOCKER_HOST as the test found it) unless this one has it:
        saved from one, loaded into the other as a stream, since no registry is reachable."""
        target = self.client()
        source = docker.from_env(timeout=120)
        try:
            if not target.images.list(name=image):
                target.api.load_image(_Joined(source.api.get_image(image)))  # type: ignore[arg-type]
                target.images.get(image)
        finally:
            source.close()
            target.close()


class _Joined:
    """A file-like over docker-py's chunks, for load_image's streaming upload."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = iter(chunks)

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks
