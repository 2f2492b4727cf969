"""The sandbox against a Docker daemon that cannot see the host's paths (a private dockerd on loopback TCP).

Select with `-m remote_docker`. Skipped, with the reason, only if dockerd cannot start at all.
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
from tests.private_dockerd import NoDockerd, PrivateDockerd, docker0
from tests.run_fixtures import git
from tests.sandbox_fixtures import docker_client, sandbox_dir, sandbox_image  # noqa: F401
from tests.test_local_run import ISSUE_JSON, checkout, steward

pytestmark = [pytest.mark.docker, pytest.mark.remote_docker]


@pytest.fixture(scope="module")
def remote(docker_client: docker.DockerClient, sandbox_image: str) -> Iterator[docker.DockerClient]:  # noqa: F811
    daemon, bridge = PrivateDockerd(Path(f"/tmp/steward-dockerd-{uuid.uuid4().hex[:8]}"), tcp=True), docker0()
    mp = pytest.MonkeyPatch()
    try:
        daemon.start()
        daemon.load_image(sandbox_image)
    except NoDockerd as exc:
        daemon.close(remove=True)
        pytest.skip(f"a private dockerd cannot start here: {exc}")
    client = daemon.client()
    mp.setenv("DOCKER_HOST", daemon.host)  # what makes `auto` choose the archive transfer
    try:
        yield client
    finally:
        mp.undo()
        client.close()
        daemon.close(remove=True)
    assert docker0() == bridge, "the private dockerd removed the host's docker0"


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


def test_a_docs_run_works_against_the_remote_host(remote: docker.DockerClient, tmp_path: Path) -> None:
    """`steward run docs` as a user runs it, its sandbox on the private daemon (DOCKER_HOST is set)."""
    repo = checkout(tmp_path)
    done = steward(tmp_path, "run", "docs", "--repo", str(repo), "--issue-json", str(ISSUE_JSON), "--yes")
    assert done.returncode == 0, done.stderr[-3000:]
    changed = git(repo, "diff", "--name-only", "main", "steward/docs/7").split()
    assert "docs/usage.md" in changed
    assert not [v for v in remote.volumes.list() if (v.name or "").startswith("steward-ws-r-")]  # the run's
