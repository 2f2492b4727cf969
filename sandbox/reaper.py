"""At worker start: remove containers and networks whose maker died (a crash, a kill -9, a lost host)."""

from __future__ import annotations

import contextlib
import logging
import time

import docker
from docker.errors import APIError, NotFound

from sandbox import hostguard
from sandbox.labels import APP_LABEL, APP_VALUE, CREATED_LABEL, WORKER_LABEL, owner_alive

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
        app_filter = {"label": f"{APP_LABEL}={APP_VALUE}"}
        for container in client.containers.list(all=True, filters=app_filter):
            if abandoned(container.labels, worker_id, max_age, now):
                with contextlib.suppress(NotFound, APIError):  # APIError: someone is removing it already
                    container.remove(force=True, v=True)
                    removed.append(container.name)
        for network in client.networks.list(filters=app_filter):
            if abandoned(network.attrs.get("Labels") or {}, worker_id, max_age, now):
                with contextlib.suppress(NotFound, APIError):  # APIError: still in use
                    network.remove()
                    removed.append(network.name)
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
