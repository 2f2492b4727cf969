"""Shared by the sandbox tests: the image, built once if missing by the code of `steward sandbox build`."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import docker
import pytest
from docker.errors import DockerException

from sandbox.docker_sandbox import DockerSandbox
from sandbox.image import SANDBOX_UID, build_image
from sandbox.images import DEFAULT_IMAGE
from sandbox.limits import Limits
from sandbox.transfer import Transfer

IMAGE = os.environ.get("STEWARD_TEST_SANDBOX_IMAGE", DEFAULT_IMAGE)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except DockerException as exc:
        pytest.fail(f"these tests need a running Docker daemon (start dockerd): {exc}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def sandbox_image(docker_client: docker.DockerClient) -> str:
    """The sandbox image; built here (about a minute) when CI has not built it already."""
    try:
        docker_client.images.get(IMAGE)
    except DockerException:
        build_image(IMAGE, source="auto", progress=lambda line: None)
    return IMAGE


def sandbox_dir(path: Path) -> Path:
    """A workspace directory the sandbox user owns."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, SANDBOX_UID, SANDBOX_UID)
    return path


def steward_containers(client: docker.DockerClient, run_id: str) -> list[str]:
    """Containers (running or not) labelled with this run."""
    found = client.containers.list(all=True, ignore_removed=True, filters={"label": f"steward.run={run_id}"})
    return [c.name for c in found]


def started_sandbox(
    workspace: Path,
    limits: Limits,
    image: str,
    client: docker.DockerClient,
    name: str,
    transfer: Transfer | None = None,
) -> Iterator[DockerSandbox]:
    """A started sandbox for a module's tests to share (yield it from a fixture), destroyed afterwards."""
    sandbox = DockerSandbox(
        sandbox_dir(workspace),
        limits,
        run_id=f"test-{name}-{uuid.uuid4().hex[:8]}",
        image=image,
        client=client,
        transfer_mode=transfer,
    )
    anyio.run(sandbox.start)
    yield sandbox
    anyio.run(sandbox.destroy)
