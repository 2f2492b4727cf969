"""A sandbox starts clean (no host environment), fails clearly without its image, never outlives its run: on
the machine's daemon (the workspace bind-mounted) and on a remote one (tests/remote_fixtures.py, the
workspace moved through the Docker API into a volume)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from sandbox.base import ImageMissingError, SandboxError
from sandbox.docker_sandbox import DockerSandbox
from sandbox.limits import Limits
from tests.remote_fixtures import remote_docker  # noqa: F401
from tests.sandbox_fixtures import docker_client, sandbox_dir, sandbox_image, steward_containers  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

SECRETS = {
    "STEWARD_WEBHOOK_SECRET": "whsec-do-not-leak-0001",
    "STEWARD_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY----- do-not-leak-0002",
    "GITHUB_TOKEN": "ghs_doNotLeak0003",
    "GH_TOKEN": "ghs_doNotLeak0004",
}


def _run_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Daemon:
    client: docker.DockerClient
    remote: bool

    def sandbox(self, ws: Path, limits: Limits, run_id: str, image: str, **kwargs: Any) -> DockerSandbox:
        mode = "archive" if self.remote else None  # a remote host cannot see the host's paths
        return DockerSandbox(
            ws, limits, run_id=run_id, image=image, client=self.client, transfer_mode=mode, **kwargs
        )


@pytest.fixture(scope="module", params=["local", pytest.param("remote", marks=pytest.mark.remote_docker)])
def daemon(request: pytest.FixtureRequest, docker_client: docker.DockerClient) -> Daemon:  # noqa: F811
    if request.param == "local":
        return Daemon(docker_client, remote=False)
    return Daemon(request.getfixturevalue("remote_docker").client, remote=True)


async def test_no_host_variable_or_token_is_visible_inside(
    sandbox_image: str,  # noqa: F811
    daemon: Daemon,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    async with daemon.sandbox(
        sandbox_dir(tmp_path / "ws"), Limits(), _run_id("test-env"), sandbox_image
    ) as sandbox:
        look = "env; cat /proc/self/environ | tr '\\0' '\\n'"
        search = "grep -rsl do-not-leak / --exclude-dir=proc --exclude-dir=sys | head"
        seen = await sandbox.run(f"{look}; {search}")
        assert sandbox.container_id is not None
        config_env = daemon.client.api.inspect_container(sandbox.container_id)["Config"]["Env"]
    assert seen.exit_code == 0
    assert "STEWARD_" not in seen.output
    for value in SECRETS.values():
        assert value not in seen.output
        assert all(value not in entry for entry in config_env)
    assert "HOME=/home/steward" in seen.output  # the environment Steward sets is there


async def test_missing_image_names_the_build_command_and_never_pulls(daemon: Daemon, tmp_path: Path) -> None:
    run_id = _run_id("test-noimage")
    sandbox = daemon.sandbox(sandbox_dir(tmp_path / "ws"), Limits(), run_id, "steward-sandbox:does-not-exist")
    with pytest.raises(ImageMissingError, match="steward sandbox build"):
        async with sandbox:
            pass
    assert steward_containers(daemon.client, run_id) == []


async def test_container_is_removed_when_the_body_fails(
    sandbox_image: str,  # noqa: F811
    daemon: Daemon,
    tmp_path: Path,
) -> None:
    run_id = _run_id("test-error")
    with pytest.raises(RuntimeError, match="workflow broke"):
        async with daemon.sandbox(sandbox_dir(tmp_path / "ws"), Limits(), run_id, sandbox_image) as sb:
            assert steward_containers(daemon.client, run_id) == [f"steward-{run_id}"]
            await sb.run(["true"])
            raise RuntimeError("workflow broke")
    assert steward_containers(daemon.client, run_id) == []


async def test_container_is_removed_when_it_fails_to_start(
    sandbox_image: str,  # noqa: F811
    daemon: Daemon,
    tmp_path: Path,
) -> None:
    run_id = _run_id("test-badstart")
    # More CPUs than the host has: the daemon accepts the container, then refuses to start it.
    limits = Limits(cpus=4096)
    with pytest.raises(SandboxError, match="could not start the sandbox"):
        async with daemon.sandbox(sandbox_dir(tmp_path / "ws"), limits, run_id, sandbox_image):
            pass
    assert steward_containers(daemon.client, run_id) == []


async def test_a_run_id_that_is_not_a_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="run id"):
        DockerSandbox(tmp_path, Limits(), run_id="../../etc", image="x")


async def test_a_ca_bundle_is_trusted_read_only(
    sandbox_image: str,  # noqa: F811
    daemon: Daemon,
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nnot-really-a-certificate\n-----END CERTIFICATE-----\n")
    ws, run_id = sandbox_dir(tmp_path / "ws"), _run_id("test-ca")
    if daemon.remote:  # the bundle is a host file mounted in: refused plainly, before any container
        with pytest.raises(SandboxError, match="CA bundle is mounted from the host"):
            daemon.sandbox(ws, Limits(), run_id, sandbox_image, ca_bundle=bundle)
        assert steward_containers(daemon.client, run_id) == []
        return
    async with daemon.sandbox(ws, Limits(), run_id, sandbox_image, ca_bundle=bundle) as sandbox:
        seen = await sandbox.run("cat $PIP_CERT; echo $PIP_CERT; echo x >> $PIP_CERT")
    assert "not-really-a-certificate" in seen.output
    assert "/etc/ssl/certs/ca-certificates.crt" in seen.output
    assert seen.exit_code != 0 and "cannot create" in seen.output
    assert bundle.read_text().count("\n") == 3  # the host's file is untouched
