"""A private Docker daemon for the tests that restart one: its own data root, exec root, pid file and socket,
no bridge and no iptables, so the machine's main daemon (which other tests use) is never touched. Its data
root lives under /var/tmp, so the sandbox image is loaded into it once, not per session."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import docker
import pytest

from app.settings import DEFAULT_IMAGE

ROOT = Path("/var/tmp/steward-test-dockerd")


class PrivateDockerd:
    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self.socket = root / "docker.sock"
        self.pidfile = root / "docker.pid"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        binary = shutil.which("dockerd")
        if binary is None:
            pytest.skip("dockerd is not installed")
        (self.root / "exec").mkdir(parents=True, exist_ok=True)
        with (self.root / "dockerd.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [binary, "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
                 "--pidfile", str(self.pidfile), "-H", self.host, "--bridge", "none", "--iptables=false",
                 "--ip6tables=false", "--containerd-namespace", "steward-test",
                 "--containerd-plugins-namespace", "steward-test-plugins"],
                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._answers():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited: see {self.root / 'dockerd.log'}")
            time.sleep(0.2)
        raise RuntimeError("the private dockerd did not answer within 30 s")

    def _answers(self) -> bool:
        try:
            client = docker.DockerClient(base_url=self.host, timeout=5)  # asks the daemon for its version
        except docker.errors.DockerException:
            return False
        try:
            return bool(client.ping())
        except docker.errors.DockerException:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def load_image(self, image: str = DEFAULT_IMAGE) -> None:
        """Copy the sandbox image from the main daemon unless this one has it already."""
        client = docker.DockerClient(base_url=self.host, timeout=120)
        try:
            if client.images.list(name=image):
                return
        finally:
            client.close()
        env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE, env=env)
        loaded = subprocess.run(
            ["docker", "-H", self.host, "load"], stdin=save.stdout, capture_output=True, env=env, timeout=300
        )
        save.wait(60)
        if loaded.returncode != 0:
            raise RuntimeError(f"could not load {image}: {loaded.stderr.decode()[-500:]}")
