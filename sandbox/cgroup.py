"""Kernel counters that say which limit struck: the memory cgroup's oom_kill, the pids cgroup's max."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
_COUNTER = re.compile(r"^(oom_kill|max)\s+(\d+)$", re.MULTILINE)
# Inside the container the same files sit at the root of its own cgroup namespace (v1 layout, then v2).
MEMORY_INSIDE = ("/sys/fs/cgroup/memory/memory.oom_control", "/sys/fs/cgroup/memory.events")
PIDS_INSIDE = ("/sys/fs/cgroup/pids/pids.events", "/sys/fs/cgroup/pids.events")


@dataclass(frozen=True)
class Counters:
    """Cumulative counts since the container's cgroup was made."""

    oom_kills: int = 0
    pids_refusals: int = 0


def host_files(container_id: str) -> tuple[Path, Path] | None:
    """The container's memory and pids event files on this host (cgroupfs v1, cgroupfs v2, systemd v2)."""
    candidates = (
        (
            CGROUP_ROOT / "memory" / "docker" / container_id / "memory.oom_control",
            CGROUP_ROOT / "pids" / "docker" / container_id / "pids.events",
        ),
        (
            CGROUP_ROOT / "docker" / container_id / "memory.events",
            CGROUP_ROOT / "docker" / container_id / "pids.events",
        ),
        (
            CGROUP_ROOT / "system.slice" / f"docker-{container_id}.scope" / "memory.events",
            CGROUP_ROOT / "system.slice" / f"docker-{container_id}.scope" / "pids.events",
        ),
    )
    for memory, pids in candidates:
        if memory.exists() and pids.exists():
            return memory, pids
    return None


def parse(memory_text: str, pids_text: str) -> Counters:
    """Counters from the two files' text (`oom_kill N` and `max N`)."""
    oom = {k: int(v) for k, v in _COUNTER.findall(memory_text)}
    pids = {k: int(v) for k, v in _COUNTER.findall(pids_text)}
    return Counters(oom_kills=oom.get("oom_kill", 0), pids_refusals=pids.get("max", 0))


def read_host(files: tuple[Path, Path]) -> Counters | None:
    """Read the counters from the host side; None once the cgroup is gone."""
    try:
        return parse(files[0].read_text(), files[1].read_text())
    except OSError:
        return None
