"""Docker out of reach when a work job starts: a daemon that is down or restarting is SandboxLost (the job is
tried again, jobs.failures.TRANSIENT), with the same words a local run prints; a daemon that answers but lacks
the image is a final, specific error. A container a daemon restart stopped between two commands is SandboxLost
too, not the next command's failure."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import docker
import pytest

from jobs.failures import TRANSIENT
from jobs.runs.work import image_digest
from sandbox.base import ImageMissingError, SandboxLost
from sandbox.docker_sandbox import DockerSandbox
from sandbox.limits import Limits
from tests.sandbox_fixtures import docker_client, sandbox_dir, sandbox_image  # noqa: F401

pytestmark = pytest.mark.anyio


async def _raised(image: str) -> BaseException:
    try:
        await image_digest(image)
    except BaseException as exc:  # the tests assert which
        return exc.with_traceback(None)
    raise AssertionError("image_digest raised nothing")


async def test_a_daemon_that_is_not_there_is_lost_not_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    # A TCP port nobody listens on (docker-py's unix adapter would leave the failed socket for a later test).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{port}")
    lost = await _raised("steward-sandbox:any")
    assert isinstance(lost, SandboxLost) and isinstance(lost, TRANSIENT), repr(lost)
    assert "Docker is not reachable" in str(lost) and "start dockerd and try again" in str(lost)


@pytest.mark.docker
async def test_a_missing_image_is_final() -> None:
    missing = await _raised("steward-sandbox:not-built-anywhere")
    assert isinstance(missing, ImageMissingError) and not isinstance(missing, SandboxLost), repr(missing)
    assert "steward sandbox build" in str(missing)


@pytest.mark.docker
async def test_a_container_stopped_between_commands_is_lost_not_a_failed_command(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
) -> None:
    """What a dockerd restart leaves (every container stopped): the next command must not read as failed,
    or a setup phase paused across the restart fails its run instead of trying again."""
    workspace = sandbox_dir(tmp_path / "ws")
    run_id = f"test-stopped-{uuid.uuid4().hex[:8]}"
    async with DockerSandbox(
        workspace, Limits(), run_id=run_id, image=sandbox_image, client=docker_client
    ) as sb:
        assert (await sb.run("echo up")).ok
        assert sb.container_id is not None
        docker_client.api.stop(sb.container_id, timeout=1)
        with pytest.raises(SandboxLost) as lost:
            await sb.run("echo again")
        assert isinstance(lost.value, TRANSIENT) and "stopped between two commands" in str(lost.value)
        assert not docker_client.api.inspect_container(sb.container_id)["State"]["Running"]  # not revived
    assert not docker_client.containers.list(all=True, filters={"label": f"steward.run={run_id}"})
