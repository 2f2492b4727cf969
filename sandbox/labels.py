"""Labels on every container and network Steward makes, so the reaper can tell if their maker lives."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

APP_LABEL = "app"
APP_VALUE = "steward"
RUN_LABEL = "steward.run"
WORKER_LABEL = "steward.worker"
HOST_LABEL = "steward.host"
PID_LABEL = "steward.pid"
PID_START_LABEL = "steward.pid-start"
CREATED_LABEL = "steward.created"


def process_start(pid: int) -> str | None:
    """The kernel's start time of `pid` (ticks since boot): with the pid, it names one process for good."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]  # field 22 counted from after the command name


def this_host() -> str:
    return socket.gethostname()


def run_labels(run_id: str, worker_id: str | None = None) -> dict[str, str]:
    """The labels naming one run's resources and the process that owns them."""
    pid = os.getpid()
    labels = {
        APP_LABEL: APP_VALUE,
        RUN_LABEL: run_id,
        HOST_LABEL: this_host(),
        PID_LABEL: str(pid),
        PID_START_LABEL: process_start(pid) or "",
        CREATED_LABEL: str(int(time.time())),
    }
    if worker_id:
        labels[WORKER_LABEL] = worker_id
    return labels


def owner_alive(labels: dict[str, str]) -> bool | None:
    """True/False for resources made on this host; None when another host made them (we cannot tell)."""
    if labels.get(HOST_LABEL) != this_host():
        return None
    try:
        pid = int(labels.get(PID_LABEL, ""))
    except ValueError:
        return False
    start = process_start(pid)
    return start is not None and start == labels.get(PID_START_LABEL)
