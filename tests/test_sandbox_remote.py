"""The sandbox against a Docker daemon that cannot see the host's paths (a private dockerd on loopback TCP).

Select with `-m remote_docker`. Skipped, with the reason, only if dockerd cannot start at all
(tests/remote_fixtures.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import docker
import pytest

from sandbox.base import SandboxError
from sandbox.docker_sandbox import DockerSandbox
from sandbox.limits import Limits
from tests.remote_fixtures import RemoteDocker, remote_docker  # noqa: F401
from tests.run_fixtures import git
from tests.sandbox_fixtures import docker_client, sandbox_dir, sandbox_image  # noqa: F401
from tests.test_local_run import ISSUE_JSON, checkout, steward

pytestmark = [pytest.mark.docker, pytest.mark.remote_docker]


@pytest.fixture(scope="module")
def remote(remote_docker: RemoteDocker) -> Iterator[docker.DockerClient]:  # noqa: F811
    mp = pytest.MonkeyPatch()
    mp.setenv("DOCKER_HOST", remote_docker.host)  # what makes `auto` choose the archive transfer
    try:
        yield remote_docker.client
    finally:
        mp.undo()


def _sandbox(workspace: Path, client: docker.DockerClient, image: str, **limits: int) -> DockerSandbox:
    return DockerSandbox(
        sandbox_dir(workspace),
        Limits(**limits),  # type: ignore[arg-type]
        run_id=f"test-remote-{uuid.uuid4().hex[:8]}",
        image=image,
        client=client,
    )


def test_the_workspace_goes_in_and_comes_back(
    remote: docker.DockerClient,
    sandbox_image: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "input.txt").write_text("from the host\n")
    sandbox = _sandbox(tmp_path / "ws", remote, sandbox_image)
    assert sandbox.transfer == "archive"

    async def body() -> None:
        async with sandbox as sb:
            first = await sb.run("cat input.txt && echo made > out.txt && mkdir -p d && echo x > d/y")
            assert first.ok, first.output
            assert "from the host" in first.output
            assert (tmp_path / "ws" / "out.txt").read_text() == "made\n"
            assert await sb.read_file("d/y") == b"x\n"
            (tmp_path / "ws" / "out.txt").unlink()  # a host edit between commands reaches the container
            (tmp_path / "ws" / "host.txt").write_text("edited")
            second = await sb.run("ls; cat host.txt")
            assert "out.txt" not in second.output and "edited" in second.output

    anyio.run(body)
    volumes = [v.name for v in remote.volumes.list() if v.name == f"steward-ws-{sandbox.run_id}"]
    assert volumes == [] and not remote.containers.list(
        all=True, filters={"label": f"steward.run={sandbox.run_id}"}
    )


def test_a_link_the_sandbox_plants_is_never_followed_by_the_host(
    remote: docker.DockerClient,
    sandbox_image: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("host secret")
    sandbox = _sandbox(tmp_path / "ws", remote, sandbox_image)

    async def body() -> None:
        async with sandbox as sb:
            result = await sb.run(f"ln -s {secret} leak && ln -s /etc/passwd leak2 && ln -s inside.txt ok")
            assert result.ok, result.output
            assert (
                not (tmp_path / "ws" / "leak").is_symlink() and not (tmp_path / "ws" / "leak2").is_symlink()
            )
            assert (tmp_path / "ws" / "ok").is_symlink()
            with pytest.raises(SandboxError):
                await sb.read_file("leak")

    anyio.run(body)
    assert secret.read_text() == "host secret"


def test_a_workspace_over_the_disk_limit_is_not_brought_back(
    remote: docker.DockerClient,
    sandbox_image: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    sandbox = _sandbox(tmp_path / "ws", remote, sandbox_image, disk=16 * 1024**2)

    async def body() -> None:
        async with sandbox as sb:
            result = await sb.run("head -c 80000000 /dev/zero > big")
            assert result.killed_by == "disk", result
            assert not (tmp_path / "ws" / "big").exists()

    anyio.run(body)
    assert not [v for v in remote.volumes.list() if v.name == f"steward-ws-{sandbox.run_id}"]


WRITERS = {
    "listed": "i=0; while [ $i -lt 400 ]; do head -c 1048576 /dev/zero > f$i; i=$((i+1)); done; sleep 60",
    # fd 3 stays open on a file in a directory then made unreadable: find cannot list it, the archive can
    "hidden": "mkdir h && exec 3>h/big && chmod 000 h && "
    "i=0; while [ $i -lt 400 ]; do head -c 1048576 /dev/zero >&3; i=$((i+1)); done; sleep 60",
}


@pytest.mark.parametrize("writer", WRITERS)
def test_the_disk_watchdog_stops_a_writer_on_the_remote_host(
    remote: docker.DockerClient,
    sandbox_image: str,  # noqa: F811
    tmp_path: Path,
    writer: str,
) -> None:
    """As locally without a quota mount (tests/test_sandbox_disk.py): stopped at the budget, not by its
    timeout, and named; the host's copy never takes what was written past it."""
    budget = 32 * 1024**2
    sandbox = _sandbox(tmp_path / "ws", remote, sandbox_image, disk=budget, command_timeout=20)

    async def body() -> None:
        async with sandbox as sb:
            assert sb.container_id is not None
            result = await sb.run(WRITERS[writer], timeout=15)
            assert result.killed_by == "disk", result
            assert "limits.disk" in result.explanation
            assert result.duration < 10  # stopped by the watchdog, not by the 15 s timeout
            assert list((tmp_path / "ws").iterdir()) == []
            after = await sb.run("ls -A; echo alive")  # the volume holds the host's copy again
            assert after.ok and after.output == "alive\n", after

    anyio.run(body)
    assert not [v for v in remote.volumes.list() if v.name == f"steward-ws-{sandbox.run_id}"]


def test_a_docs_run_works_against_the_remote_host(remote: docker.DockerClient, tmp_path: Path) -> None:
    """`steward run docs` as a user runs it, its sandbox on the private daemon (DOCKER_HOST is set)."""
    repo = checkout(tmp_path)
    done = steward(tmp_path, "run", "docs", "--repo", str(repo), "--issue-json", str(ISSUE_JSON), "--yes")
    assert done.returncode == 0, done.stderr[-3000:]
    changed = git(repo, "diff", "--name-only", "main", "steward/docs/7").split()
    assert "docs/usage.md" in changed
    assert not [v for v in remote.volumes.list() if (v.name or "").startswith("steward-ws-r-")]  # the run's
