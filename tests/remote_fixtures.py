"""A private dockerd on loopback TCP, as a remote Docker host (it cannot see the host's paths), for the
sandbox tests that run there as well as on the machine's daemon. One per session: its image loads once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from tests.private_dockerd import NoDockerd, PrivateDockerd, docker0
from tests.sandbox_fixtures import docker_client, sandbox_image  # noqa: F401


@dataclass(frozen=True)
class RemoteDocker:
    host: str
    """DOCKER_HOST for it (tcp://127.0.0.1:PORT)."""
    client: docker.DockerClient


@pytest.fixture(scope="session")
def remote_docker(
    docker_client: docker.DockerClient,  # noqa: F811 (the main daemon, where the image comes from)
    sandbox_image: str,  # noqa: F811
) -> Iterator[RemoteDocker]:
    """Skipped, with the reason, only if dockerd cannot start here at all."""
    daemon, bridge = PrivateDockerd(Path(f"/tmp/steward-dockerd-{uuid.uuid4().hex[:8]}"), tcp=True), docker0()
    try:
        daemon.start()
        daemon.load_image(sandbox_image)
    except NoDockerd as exc:
        daemon.close(remove=True)
        pytest.skip(f"a private dockerd cannot start here: {exc}")
    client = daemon.client()
    try:
        yield RemoteDocker(daemon.host, client)
    finally:
        client.close()
        daemon.close(remove=True)
    assert docker0() == bridge, "the private dockerd removed the host's docker0"
