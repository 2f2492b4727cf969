"""At worker start: remove the containers, networks, volumes and workspaces a dead maker left (kill -9)."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

import docker
from docker.errors import APIError, NotFound

from sandbox import hostguard, workspaces
from sandbox.labels import APP_LABEL, APP_VALUE, CREATED_LABEL, RUN_LABEL, WORKER_LABEL, owner_alive

log = logging.getLogger(__name__)

DEFAULT_MAX_AGE = 2 * 3600.0
"""Older than any run may last (run_timeout plus margin): abandoned, whichever host made it."""


def reap_orphans(
    client: docker.DockerClient | None = None,
    *,
    worker_id: str | None = None,
    max_age: float = DEFAULT_MAX_AGE,
    now: float | None = None,
) -> list[str]:
    """Remove Steward resources whose maker died (same host), past `max_age`, or of a dead `worker_id`."""
    own = client is None
    client = client or docker.from_env(timeout=30)
    now = time.time() if now is None else now
    removed: list[str] = []
    try:
        # Both labels: `app=steward` alone is inherited by any image built FROM the sandbox image, while
        # `steward.run` is set only on the containers and networks a sandbox makes for one run.
        app_filter = {"label": [f"{APP_LABEL}={APP_VALUE}", RUN_LABEL]}
        for container in client.containers.list(all=True, ignore_removed=True, filters=app_filter):
            if abandoned(container.labels, worker_id, max_age, now):
                with contextlib.suppress(NotFound, APIError):  # APIError: someone is removing it already
                    container.remove(force=True, v=True)
                    removed.append(container.name)
        for network in client.networks.list(filters=app_filter):
            if abandoned(network.attrs.get("Labels") or {}, worker_id, max_age, now):
                with contextlib.suppress(NotFound, APIError):  # APIError: still in use
                    network.remove()
                    removed.append(network.name)
        # A run's workspace volume (the archive transfer, sandbox/transfer.py) is labelled like its container;
        # removing the container (v=True) does not remove a named volume.
        for volume in client.volumes.list(filters=app_filter):
            if abandoned(volume.attrs.get("Labels") or {}, worker_id, max_age, now):
                with contextlib.suppress(NotFound, APIError):  # APIError: still in use
                    volume.remove(force=True)
                    removed.append(f"volume {volume.name}")
    finally:
        if own:
            client.close()
    removed += [f"firewall rule ({rule})" for rule in hostguard.sweep()]
    if removed:
        log.warning("reaped %d abandoned sandbox resources: %s", len(removed), ", ".join(removed))
    return removed


def abandoned(labels: dict[str, str], worker_id: str | None, max_age: float, now: float) -> bool:
    """A live maker keeps its resources whatever their age; a dead one loses them at once."""
    alive = owner_alive(labels)
    if alive is not None:
        return not alive
    if worker_id is not None and labels.get(WORKER_LABEL) == worker_id:
        return True  # the caller says this worker id is dead (it is the caller, restarted elsewhere)
    try:
        return now - float(labels.get(CREATED_LABEL, "0")) > max_age
    except ValueError:
        return True


def reap_workspaces(base: Path, *, max_age: float = DEFAULT_MAX_AGE, now: float | None = None) -> list[str]:
    """Remove the workspaces under `base` whose owner died (or, with no readable owner, past max_age)."""
    now = time.time() if now is None else now
    removed: list[str] = []
    try:
        entries = list(os.scandir(base))
    except FileNotFoundError:
        return removed
    for entry in entries:
        if entry.is_symlink() or not entry.is_dir(follow_symlinks=False):
            continue  # not a workspace Steward made; never follow a link out of the data dir
        root = Path(entry.path)
        labels = workspaces.owner(root) or {CREATED_LABEL: str(entry.stat(follow_symlinks=False).st_mtime)}
        if abandoned(labels, None, max_age, now):
            workspaces.discard(root)
            removed.append(f"workspace {root.name}")
    if removed:
        log.warning("reaped %d abandoned workspaces: %s", len(removed), ", ".join(removed))
    return removed
