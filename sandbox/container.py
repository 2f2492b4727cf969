"""Blocking docker-py calls on the one container of a run (the async sandbox runs them in threads)."""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

import docker
import requests
from docker.errors import APIError, DockerException, NotFound

from sandbox import cgroup
from sandbox.image import SANDBOX_HOME, SANDBOX_UID
from sandbox.limits import Limits

log = logging.getLogger(__name__)
CA_BUNDLE_PATH = "/etc/ssl/certs/ca-certificates.crt"
RESET_WAIT_ROUNDS = 4
"""Rounds of 30 s to wait for a killed container to stop."""
KEEPER_USER = "65534:65534"  # PID 1 runs as nobody, so a command (uid 1000) cannot kill the container
MASKED_SYS = ("/sys/block", "/sys/class/block", "/sys/dev/block", "/sys/devices/virtual/block")
"""The host's block devices: a loop device names its backing file there (every run's quota image)."""
MASK_OPTS = "ro,nosuid,nodev,noexec,size=4k,mode=0555"


def create_and_start(
    client: docker.DockerClient,
    *,
    image: str,
    name: str,
    labels: dict[str, str],
    limits: Limits,
    workspace: Path,
    network_mode: str,
    ca_bundle: Path | None = None,
    cache: tuple[Path, str] | None = None,
    volume: str | None = None,
) -> str:
    """The locked-down container; removed again if it will not start (docker leaves it behind).

    `volume`: the workspace is that named volume (made here, labelled like the run), not a bind mount of
    `workspace`, for a daemon that cannot see the host's paths (sandbox/transfer.py).
    """
    tmpfs_opts = f"rw,nosuid,nodev,size={limits.tmpfs_bytes}"
    if volume is not None:
        client.volumes.create(volume, labels=labels)
        volumes = {volume: {"bind": "/workspace", "mode": "rw"}}
    else:
        volumes = {str(workspace): {"bind": "/workspace", "mode": "rw"}}
    if ca_bundle is not None:  # e.g. behind a TLS-inspecting proxy: trust what the host trusts
        volumes[str(ca_bundle)] = {"bind": CA_BUNDLE_PATH, "mode": "ro"}
    if cache is not None:  # a download cache: the host made the directory and never reads inside it
        volumes[str(cache[0])] = {"bind": cache[1], "mode": "rw"}
    remove(client, name)  # a try that a daemon restart cut short leaves its stopped container under this name
    container = client.containers.create(
        image,
        ["sleep", "infinity"],
        name=name,
        labels=labels,
        user=KEEPER_USER,
        init=True,  # tini reaps the orphans a command leaves, so zombies never hold the pids budget
        environment=None,
        working_dir="/workspace",
        mem_limit=limits.memory,
        memswap_limit=limits.memory,
        nano_cpus=int(limits.cpus * 1e9),
        pids_limit=limits.pids,
        read_only=True,
        tmpfs={
            "/tmp": f"{tmpfs_opts},mode=1777",  # noqa: S108 (the container's own tmpfs)
            SANDBOX_HOME: f"{tmpfs_opts},mode=0700,uid={SANDBOX_UID},gid={SANDBOX_UID}",
            **dict.fromkeys(MASKED_SYS, MASK_OPTS),  # empty and read-only, like docker's own masked paths
        },
        volumes=volumes,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        network_mode=network_mode,
        hostname="sandbox",
    )
    try:
        container.start()
    except BaseException:
        remove(client, str(container.id), volume)
        raise
    return str(container.id)


INSIDE_READ_PAUSES = (0.1, 0.3, 0.0)
"""Seconds to wait after a failed read from inside the container before the next of three tries."""


def read_counters(client: docker.DockerClient, container_id: str) -> cgroup.Counters | None:
    """From the host's cgroup files when the daemon is local, else by reading them inside the container."""
    files = cgroup.host_files(container_id)
    if files is not None:
        return cgroup.read_host(files)

    def cat(paths: tuple[str, ...]) -> str:
        exec_id = client.api.exec_create(container_id, ["cat", *paths], user=KEEPER_USER)["Id"]
        return bytes(client.api.exec_start(exec_id)).decode(errors="replace")

    found: cgroup.Counters | None = None
    for pause in INSIDE_READ_PAUSES:  # an exec can fail for a moment, e.g. just after a restart
        try:
            found = cgroup.parse(cat(cgroup.MEMORY_INSIDE), cat(cgroup.PIDS_INSIDE), cat(cgroup.CPU_INSIDE))
        except APIError:
            found = None  # e.g. no process can start while a fork bomb holds every pid
        if found is not None and found.cpu_seconds is not None:
            return found
        time.sleep(pause)
    return found


def reset(client: docker.DockerClient, container_id: str) -> None:
    """Kill every process (PID 1 included) and start the container again; the workspace stays."""
    try:
        client.api.kill(container_id)
    except APIError:
        pass
    except requests.exceptions.ConnectionError as exc:  # the daemon (a remote one) is out of reach
        raise DockerException(f"the Docker daemon is out of reach: {exc}") from None
    # A process killed in the middle of a large write can take long to die on a loaded host (its dirty pages
    # are written first): wait in rounds, and say so plainly if it never stops.
    for _ in range(RESET_WAIT_ROUNDS):
        try:
            client.api.wait(container_id, timeout=30)
            break
        except requests.exceptions.ReadTimeout:
            continue
        except requests.exceptions.ConnectionError as exc:
            raise DockerException(f"the Docker daemon is out of reach: {exc}") from None
    else:
        raise DockerException(f"the container did not stop within {RESET_WAIT_ROUNDS * 30} s of being killed")
    try:
        client.api.start(container_id)
    except requests.exceptions.ConnectionError as exc:
        raise DockerException(f"the Docker daemon is out of reach: {exc}") from None


def running(client: docker.DockerClient, container_id: str) -> bool:
    """Whether the container is still up (False when it is gone); a daemon out of reach raises."""
    try:
        state = client.api.inspect_container(container_id).get("State") or {}
    except NotFound:
        return False
    return bool(state.get("Running"))


def remove(client: docker.DockerClient, container_id: str | None, volume: str | None = None) -> None:
    """Force-remove, whatever state it is in, and the run's workspace volume; a daemon out of reach is
    logged (the reaper removes what is left by its labels), never raised from a cleanup."""
    try:
        if container_id is not None:
            with contextlib.suppress(NotFound):
                client.api.remove_container(container_id, force=True, v=True)
        if volume is not None:
            with contextlib.suppress(NotFound):
                client.api.remove_volume(volume, force=True)
    except (DockerException, requests.exceptions.RequestException) as exc:
        log.warning("could not remove the sandbox container or its volume: %s", exc)


def daemon_gone(exc: BaseException) -> bool:
    """Whether a Docker failure means the daemon went away (down, restarting) or took the container with it,
    rather than the sandbox refusing something: then the work may be tried again."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, requests.exceptions.ConnectionError | NotFound):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
