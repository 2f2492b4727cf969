"""The one-command deployment: the image builds, deploy/compose.yaml starts Redis and PostgreSQL, the one-shot
migrate service readies the ledger, then serve and the worker start on loopback; a signed delivery runs as a
job in the worker, which records it in PostgreSQL, and the worker's health check (its heartbeat) passes."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.images import DEFAULT_IMAGE
from tests.conftest import WEBHOOK_EXAMPLES, free_port

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "deploy" / "compose.yaml"
SOCKET = Path("/var/run/docker.sock")
BASE_TAG = "steward-deploy-test-base:1"
"""The sandbox image plus this host's CA bundle (a TLS-inspecting proxy may sit before PyPI): a local base,
relabelled, since the worker reaps abandoned containers labelled app=steward (the sandbox image's label)."""
SERVICES_TAG = "steward-deploy-test-services:1"
"""Debian's redis-server and PostgreSQL, standing in for redis:7 and postgres:16 where no registry answers."""
IMAGE_TAG = "steward-deploy-test:1"
BUILD_SECONDS = 600
READY_SECONDS = 180
JOB_SECONDS = 60
HEALTHY_SECONDS = 150
"""The worker's first health check runs one interval (30 s) after it starts; a few more may be needed."""

pytestmark = [pytest.mark.docker, pytest.mark.timeout(BUILD_SECONDS * 2 + READY_SECONDS + 300)]


def compose_command() -> list[str] | None:
    """`docker compose` (v2) where the plugin is installed, else Debian's docker-compose 1.29."""
    if shutil.which("docker") is None:
        return None
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30, check=False)
    if probe.returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def run(argv: list[str], timeout: float, **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(  # type: ignore[call-overload]
        argv, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    assert done.returncode == 0, f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done  # type: ignore[no-any-return]


def build_local_images() -> None:
    """The base and the stand-in services; cached by Docker's layers, so a second run takes seconds."""
    if subprocess.run(
        ["docker", "image", "inspect", DEFAULT_IMAGE], capture_output=True, check=False
    ).returncode:
        pytest.fail(
            f"the sandbox image {DEFAULT_IMAGE} is missing: `steward sandbox build` (make test builds it)"
        )
    context = ROOT / "tests" / "deploy"
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    lines = [f"FROM {DEFAULT_IMAGE}", "USER root", "LABEL app=steward-deploy-test"]
    if bundle.exists():
        lines.append("COPY ca-certificates.crt /etc/ssl/certs/")
    scratch = Path(os.environ.get("TMPDIR", "/tmp")) / f"steward-deploy-base-{os.getpid()}"
    scratch.mkdir(exist_ok=True)
    try:
        (scratch / "Dockerfile").write_text("\n".join(lines) + "\n")
        if bundle.exists():
            shutil.copyfile(bundle, scratch / "ca-certificates.crt")
        run(["docker", "build", "-q", "-t", BASE_TAG, str(scratch)], BUILD_SECONDS)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    dockerfile = str(context / "services.Dockerfile")
    run(
        [
            "docker",
            "build",
            "-q",
            "-t",
            SERVICES_TAG,
            "--build-arg",
            f"BASE={BASE_TAG}",
            "-f",
            dockerfile,
            str(context),
        ],
        BUILD_SECONDS,
    )


def write_secrets(folder: Path, webhook_secret: str) -> None:
    """Throwaway secrets, readable by the containers' users (0644 in a 0700 folder that only root enters)."""
    folder.mkdir(mode=0o700)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    password = secrets.token_hex(16)
    files = {
        "webhook_secret": webhook_secret + "\n",
        "private_key.pem": pem.decode(),
        "postgres_password": password + "\n",
        "database_url": f"postgresql+asyncpg://steward:{password}@postgres:5432/steward\n",
        "model_api_key": "",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
        (folder / name).chmod(0o644)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[list[str], str, Path]]:
    """The compose project, up; always taken down, volumes included."""
    compose = compose_command()
    if compose is None or not SOCKET.exists():
        pytest.skip(
            "needs a Docker daemon and docker compose or docker-compose (scripts/deps.sh installs it)"
        )
    build_local_images()
    webhook_secret = secrets.token_hex(20)
    write_secrets(tmp_path / "secrets", webhook_secret)
    port = free_port()
    env_file = tmp_path / "deploy.env"
    env_file.write_text(
        "\n".join(
            [
                "STEWARD_APP_ID=4242",
                "STEWARD_BIND_ADDRESS=127.0.0.1",
                f"STEWARD_PORT={port}",
                f"STEWARD_SECRETS_DIR={tmp_path / 'secrets'}",
                f"STEWARD_DOCKER_SOCKET={SOCKET}",
                f"STEWARD_DOCKER_GID={SOCKET.stat().st_gid}",
                f"STEWARD_IMAGE={IMAGE_TAG}",
                f"STEWARD_BASE_IMAGE={BASE_TAG}",
                f"STEWARD_REDIS_IMAGE={SERVICES_TAG}",
                f"STEWARD_POSTGRES_IMAGE={SERVICES_TAG}",
                "",
            ]
        )
    )
    project = f"steward-test-{uuid.uuid4().hex[:8]}"
    argv = [*compose, "--project-name", project, "--env-file", str(env_file), "-f", str(COMPOSE_FILE)]
    try:
        started = time.monotonic()
        run([*argv, "build", "serve"], BUILD_SECONDS)
        print(f"image built in {time.monotonic() - started:.0f} s")
        run([*argv, "up", "-d"], READY_SECONDS)
        yield argv, f"http://127.0.0.1:{port}", tmp_path / "secrets" / "webhook_secret"
    finally:
        subprocess.run([*argv, "logs", "--no-color"], timeout=60, check=False)  # shown when the test fails
        subprocess.run([*argv, "down", "-v", "--remove-orphans", "-t", "10"], timeout=180, check=False)


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{url}/readyz", timeout=3)
            if answer.status_code == 200:
                assert answer.json() == {"status": "ready", "redis": "ok"}
                return
            last = f"{answer.status_code} {answer.text}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(1)
    pytest.fail(f"/readyz never answered 200 within {READY_SECONDS} s: {last}")


def worker_log(argv: list[str], needle: str) -> str:
    deadline = time.monotonic() + JOB_SECONDS
    logs = ""
    while time.monotonic() < deadline:
        logs = run([*argv, "logs", "--no-color", "worker"], 60).stdout
        if needle in logs:
            return logs
        time.sleep(1)
    pytest.fail(f"the worker never logged {needle!r} within {JOB_SECONDS} s:\n{logs[-4000:]}")


def worker_health(argv: list[str]) -> str:
    """The worker container's health as Docker sees it, once it is no longer `starting`."""
    container = run([*argv, "ps", "-q", "worker"], 60).stdout.strip()
    deadline = time.monotonic() + HEALTHY_SECONDS
    state = "unknown"
    while time.monotonic() < deadline:
        state = run(
            ["docker", "inspect", "--format", "{{.State.Health.Status}}", container], 30
        ).stdout.strip()
        if state != "starting":
            return state
        time.sleep(2)
    return state


def test_the_stack_receives_a_signed_delivery_and_the_worker_runs_its_job(
    stack: tuple[list[str], str, Path],
) -> None:
    argv, url, secret_file = stack
    wait_ready(url)
    migrated = run([*argv, "logs", "--no-color", "migrate"], 60).stdout
    assert "migrated postgresql+asyncpg://postgres:5432/steward to the newest schema" in migrated
    delivery = str(uuid.uuid4())
    payload = WEBHOOK_EXAMPLES / "installation" / "deleted.payload.json"
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("STEWARD_")}
    env["STEWARD_WEBHOOK_SECRET_FILE"] = str(secret_file)
    deliver = ["deliver", str(payload), "--event", "installation", "--url", f"{url}/webhooks"]
    sent = run(
        [sys.executable, "-m", "app.cli", *deliver, "--delivery", delivery],
        60,
        env=env,
        cwd=ROOT,
    )
    assert sent.stdout.strip() == f"202 queued jobs=installation:{delivery}"
    logs = worker_log(argv, f"sync_installation delivery={delivery}: installation")
    assert "deleted: active=False" in logs  # the job ran to the end: it wrote the installation to PostgreSQL
    assert (
        "worker ready: redis=redis://redis:6379/0 database=postgresql+asyncpg://postgres:5432/steward" in logs
    )
    secret = secret_file.read_text().strip()
    password = (secret_file.parent / "postgres_password").read_text().strip()
    everything = run([*argv, "logs", "--no-color"], 60).stdout
    assert secret not in everything and password not in everything
    doctor = subprocess.run(
        [*argv, "exec", "-T", "worker", "steward", "doctor"], capture_output=True, text=True, timeout=120
    )
    for line in ("ok    redis", "ok    database", "ok    docker", "ok    github key"):
        assert line in doctor.stdout, doctor.stdout
    probe = subprocess.run(
        [*argv, "exec", "-T", "worker", "steward", "doctor", "--worker"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert probe.returncode == 0 and "ok    worker     " in probe.stdout, probe.stdout
    assert "alive: " in probe.stdout and "j_complete=" in probe.stdout
    assert worker_health(argv) == "healthy"
