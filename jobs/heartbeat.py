"""The worker's heartbeat: arq's health record under a key of this host's, rewritten from the worker's polling
loop (so it lapses when the worker stops taking jobs, not only when its process dies); `steward doctor
--worker` reads it (jobs/doctor.py), which is what the compose file's health check runs in the worker."""

from __future__ import annotations

import socket

from app.constants import WORKER_HEALTH_PREFIX

HEARTBEAT_SECONDS = 20
"""How often the worker rewrites its heartbeat; it expires a second after that."""


def heartbeat_key(host: str | None = None) -> str:
    """The heartbeat key of the worker on this host (a container's host name is its own)."""
    return WORKER_HEALTH_PREFIX + (host or socket.gethostname())
