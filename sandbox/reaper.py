"""At worker start: remove containers and networks that a dead worker (or a crash) left behind."""

from __future__ import annotations

import contextlib
import logging
import time

import docker
from docker.errors import APIError, NotFound

from sandbox.labels import APP_LABEL, APP_VALUE, CREATED_LABEL, WORKER_LABEL, default_worker_id

log = logging.getLogger(__name__)

DEFAULT_MAX_AGE = 2 * 3600.0
"""Older than any run may last (run_timeout plus margin), so surely abandoned whoever made it."""


def reap_orphans(
    client: docker.DockerClient | None = None,
    *,
    worker_id: str | None = None,
    max_age: float = DEFAULT_MAX_AGE,
    now: float | None = None,
) -> list[str]:
    """Remove what this worker id left in an earlier life, and anything past `max_age`; names removed."""
    own = client is None
    client = client or docker.from_env(timeout=30)
    worker_id = worker_id or default_worker_id()
    now = time.time() if now is None else now
    removed: list[str] = []
    try:
        app_filter = {"label": f"{APP_LABEL}={APP_VALUE}"}
        for container in client.containers.list(all=True, filters=app_filter):
            if _abandoned(container.labels, worker_id, max_age, now):
                with contextlib.suppress(NotFound):
                    container.remove(force=True, v=True)
                    removed.append(container.name)
        for network in client.networks.list(filters=app_filter):
            if _abandoned(network.attrs.get("Labels") or {}, worker_id, max_age, now):
                with contextlib.suppress(NotFound, APIError):  # APIError: still in use by a live sandbox
                    network.remove()
                    removed.append(network.name)
    finally:
        if own:
            client.close()
    if removed:
        log.warning("reaped %d abandoned sandbox resources: %s", len(removed), ", ".join(removed))
    return removed


def _abandoned(labels: dict[str, str], worker_id: str, max_age: float, now: float) -> bool:
    if labels.get(WORKER_LABEL) == worker_id:
        return True
    try:
        return now - float(labels.get(CREATED_LABEL, "0")) > max_age
    except ValueError:
        return True
