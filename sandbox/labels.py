"""Labels on every container and network Steward makes, so the reaper can tell whose they are."""

from __future__ import annotations

import os
import socket
import time

APP_LABEL = "app"
APP_VALUE = "steward"
RUN_LABEL = "steward.run"
WORKER_LABEL = "steward.worker"
CREATED_LABEL = "steward.created"


def default_worker_id() -> str:
    """Stable across a worker's restarts on one host, so a restarted worker finds what its last life left."""
    return os.environ.get("HOSTNAME") or socket.gethostname()


def run_labels(run_id: str, worker_id: str) -> dict[str, str]:
    """The labels naming one run's resources."""
    return {
        APP_LABEL: APP_VALUE,
        RUN_LABEL: run_id,
        WORKER_LABEL: worker_id,
        CREATED_LABEL: str(int(time.time())),
    }
