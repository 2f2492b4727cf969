"""Docker out of reach when a work job starts: a daemon that is down or restarting is SandboxLost (the job is
tried again, jobs.failures.TRANSIENT), with the same words a local run prints; a daemon that answers but lacks
the image is a final, specific error."""

from __future__ import annotations

import socket

import pytest

from jobs.failures import TRANSIENT
from jobs.runs.work import image_digest
from sandbox.base import ImageMissingError, SandboxLost

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
