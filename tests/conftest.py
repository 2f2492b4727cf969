"""Shared fixtures: a real redis-server per test session, throwaway App keys, settings, payload loading."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from app.settings import Settings
from sandbox import neutral

pytest_plugins = ("tests.run_fixtures", "tests.duplicates_fixtures", "tests.agent_fixtures")

FIXTURES = Path(__file__).parent / "fixtures"
WEBHOOK_EXAMPLES = FIXTURES / "webhooks" / "examples"
WEBHOOK_SECRET = "test-webhook-secret-not-real"


@pytest.fixture(autouse=True)
def _neutral_work_trees_go_with_tmp_path(request: pytest.FixtureRequest) -> Iterator[None]:
    """A clone without a quota keeps its work tree under /var/tmp: remove it with the test, as a run would."""
    if "tmp_path" not in request.fixturenames:
        yield
        return
    tmp_path: Path = request.getfixturevalue("tmp_path")
    yield
    for top, dirs, _files in os.walk(tmp_path):  # never follows a link
        if neutral.WORK in dirs:
            neutral.discard(Path(top) / neutral.WORK)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_payload(event: str, name: str) -> dict[str, Any]:
    """A real webhook example, e.g. load_payload("issue_comment", "created.with-installation")."""
    data: dict[str, Any] = json.loads((WEBHOOK_EXAMPLES / event / f"{name}.payload.json").read_text())
    return data


def command_comment(body: str = "/steward help", name: str = "created.with-installation") -> dict[str, Any]:
    """The real issue_comment example with a comment that holds a command (the edge drops other comments)."""
    payload = load_payload("issue_comment", name)
    payload["comment"]["body"] = body
    return payload


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class RedisServer:
    """A private redis-server on a free loopback port; stop() and start() simulate an outage."""

    def __init__(self, workdir: Path, *, persist: bool = False) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.persist = persist
        """Keep the data across stop() and start() (an append-only file, as deploy/compose.yaml runs it)."""
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: run `make deps` (apt-get install redis-server)")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.persist else "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def flush(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "FLUSHALL"], check=True, capture_output=True)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """A real, empty Redis for this test."""
    if redis_server.proc is None:
        redis_server.start()
    redis_server.flush()
    return redis_server.url


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    """A throwaway RSA key made for this test session (never a real App key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def settings(redis_url: str, private_key_pem: str, tmp_path: Path) -> Settings:
    return Settings(
        webhook_secret=SecretStr(WEBHOOK_SECRET),
        app_id=12345,
        private_key=SecretStr(private_key_pem),
        redis_url=redis_url,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'steward.db'}",
        github_api_url="https://api.github.com",
        data_dir=tmp_path / "data",
        redeliver_every_minutes=0,  # no cron pass may fire in a test's worker when the clock passes :05
        digest_pass=False,  # nor the digest pass at :02
    )
