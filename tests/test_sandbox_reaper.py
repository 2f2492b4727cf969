"""At worker start, containers whose maker died are removed; a live maker's are kept."""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from collections.abc import Iterator

import docker
import pytest

from sandbox import hostguard
from sandbox.labels import PID_LABEL, PID_START_LABEL, run_labels
from sandbox.reaper import reap_orphans
from tests.sandbox_fixtures import docker_client, sandbox_image, steward_containers  # noqa: F401

pytestmark = pytest.mark.docker


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.fixture
def made(docker_client: docker.DockerClient) -> Iterator[list[str]]:  # noqa: F811
    run_ids: list[str] = []
    yield run_ids
    for run_id in run_ids:
        for container in docker_client.containers.list(
            all=True, ignore_removed=True, filters={"label": f"steward.run={run_id}"}
        ):
            container.remove(force=True)


def _container(client: docker.DockerClient, image: str, labels: dict[str, str], made: list[str]) -> str:
    made.append(labels["steward.run"])
    client.containers.create(image, ["sleep", "infinity"], labels=labels, network_mode="none").start()
    return labels["steward.run"]


def test_orphans_are_reaped_and_live_sandboxes_kept(
    docker_client: docker.DockerClient,  # noqa: F811
    sandbox_image: str,  # noqa: F811
    made: list[str],
) -> None:
    tag = uuid.uuid4().hex[:8]
    orphan = _container(
        docker_client, sandbox_image, {**run_labels(f"orphan-{tag}"), PID_LABEL: str(_dead_pid())}, made
    )
    recycled = _container(  # the pid lives again, but as another process (its start time differs)
        docker_client, sandbox_image, {**run_labels(f"recycled-{tag}"), PID_START_LABEL: "1"}, made
    )
    live = _container(docker_client, sandbox_image, run_labels(f"live-{tag}"), made)
    long_ago = str(int(time.time()) - 9999)
    old_labels = {**run_labels(f"old-{tag}"), "steward.host": "elsewhere", "steward.created": long_ago}
    foreign_old = _container(docker_client, sandbox_image, old_labels, made)
    foreign_new = _container(
        docker_client, sandbox_image, {**run_labels(f"new-{tag}"), "steward.host": "elsewhere"}, made
    )
    dead_worker = _container(
        docker_client,
        sandbox_image,
        {**run_labels(f"worker-{tag}", "w-1"), "steward.host": "elsewhere"},
        made,
    )

    removed = reap_orphans(docker_client, worker_id="w-1")

    for gone in (orphan, recycled, foreign_old, dead_worker):
        assert steward_containers(docker_client, gone) == [], gone
    for kept in (live, foreign_new):
        assert len(steward_containers(docker_client, kept)) == 1, kept
    assert len(removed) >= 4


def test_a_dead_runs_workspace_volume_is_reaped_and_a_live_ones_kept(
    docker_client: docker.DockerClient,  # noqa: F811
) -> None:
    tag = uuid.uuid4().hex[:8]
    dead = docker_client.volumes.create(
        f"steward-ws-dead-{tag}", labels={**run_labels(f"dead-{tag}"), PID_LABEL: str(_dead_pid())}
    )
    live = docker_client.volumes.create(f"steward-ws-live-{tag}", labels=run_labels(f"live-{tag}"))
    try:
        removed = reap_orphans(docker_client)
        names = {v.name for v in docker_client.volumes.list(filters={"label": "steward.run"})}
        assert dead.name not in names and f"volume {dead.name}" in removed
        assert live.name in names
    finally:
        for volume in (dead, live):
            with contextlib.suppress(docker.errors.NotFound):
                volume.remove(force=True)


def test_a_container_that_only_inherits_the_app_label_is_not_reaped(
    docker_client: docker.DockerClient,  # noqa: F811
    sandbox_image: str,  # noqa: F811
) -> None:
    """An image built FROM the sandbox image has `app=steward`; its containers are not for Steward to reap."""
    name = f"lookalike-{uuid.uuid4().hex[:8]}"
    container = docker_client.containers.create(
        sandbox_image, ["sleep", "infinity"], name=name, labels={"app": "steward"}, network_mode="none"
    )
    try:
        container.start()
        removed = reap_orphans(docker_client, max_age=0.0)
        assert name not in removed
        assert docker_client.containers.get(name).status == "running"
    finally:
        container.remove(force=True)


@pytest.mark.parametrize("chain", ["INPUT", "FORWARD"])
def test_firewall_rules_of_a_vanished_bridge_are_swept(chain: str) -> None:
    rule = [
        chain,
        "-i",
        "br-5tewardgone",
        "-m",
        "comment",
        "--comment",
        "steward:crashed-run",
        "-j",
        "DROP",
    ]
    subprocess.run(["iptables", "-w", "5", "-I", *rule], check=True)
    try:
        swept = hostguard.sweep()
        listing = subprocess.run(["iptables", "-S", chain], capture_output=True, text=True, check=True).stdout
    finally:
        subprocess.run(["iptables", "-w", "5", "-D", *rule], capture_output=True, check=False)
    assert any("steward:crashed-run" in line for line in swept)
    assert "steward:crashed-run" not in listing
