"""Kernel counters of the container's cgroup: which limit struck (oom_kill, pids max) and the CPU it used."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
_COUNTER = re.compile(r"^(oom_kill|max)\s+(\d+)$", re.MULTILINE)
_USAGE_USEC = re.compile(r"^usage_usec\s+(\d+)$", re.MULTILINE)  # cgroup v2 cpu.stat
_USAGE_NSEC = re.compile(r"^(\d+)$", re.MULTILINE)  # cgroup v1 cpuacct.usage: one number, nanoseconds
# Inside the container the same files sit at the root of its own cgroup namespace (v1 layout, then v2).
MEMORY_INSIDE = ("/sys/fs/cgroup/memory/memory.oom_control", "/sys/fs/cgroup/memory.events")
PIDS_INSIDE = ("/sys/fs/cgroup/pids/pids.events", "/sys/fs/cgroup/pids.events")
CPU_INSIDE = ("/sys/fs/cgroup/cpuacct/cpuacct.usage", "/sys/fs/cgroup/cpu.stat")


@dataclass(frozen=True)
class Counters:
    """Cumulative counts since the container's cgroup was made."""

    oom_kills: int = 0
    pids_refusals: int = 0
    cpu_seconds: float | None = None
    """CPU time of every process in the container (None: the kernel did not say)."""


@dataclass(frozen=True)
class HostFiles:
    """Where one container's counters live on this host."""

    memory: Path
    pids: Path
    cpu: Path


def host_files(container_id: str) -> HostFiles | None:
    """The container's counter files on this host (cgroupfs v1, cgroupfs v2, systemd v2)."""

    def v1(controller: str, name: str) -> Path:
        return CGROUP_ROOT / controller / "docker" / container_id / name

    candidates = [
        HostFiles(
            v1("memory", "memory.oom_control"), v1("pids", "pids.events"), v1("cpuacct", "cpuacct.usage")
        )
    ]
    for v2 in (
        CGROUP_ROOT / "docker" / container_id,
        CGROUP_ROOT / "system.slice" / f"docker-{container_id}.scope",
    ):
        candidates.append(HostFiles(v2 / "memory.events", v2 / "pids.events", v2 / "cpu.stat"))
    for files in candidates:
        if files.memory.exists() and files.pids.exists():
            return files
    return None


def cpu_seconds(text: str) -> float | None:
    """CPU seconds from cpu.stat (`usage_usec N`) or cpuacct.usage (nanoseconds)."""
    if found := _USAGE_USEC.search(text):
        return int(found.group(1)) / 1e6
    if found := _USAGE_NSEC.search(text):
        return int(found.group(1)) / 1e9
    return None


def parse(memory_text: str, pids_text: str, cpu_text: str = "") -> Counters:
    """Counters from the files' text (`oom_kill N`, `max N`, and the CPU usage)."""
    oom = {k: int(v) for k, v in _COUNTER.findall(memory_text)}
    pids = {k: int(v) for k, v in _COUNTER.findall(pids_text)}
    return Counters(
        oom_kills=oom.get("oom_kill", 0), pids_refusals=pids.get("max", 0), cpu_seconds=cpu_seconds(cpu_text)
    )


def read_host(files: HostFiles) -> Counters | None:
    """Read the counters from the host side; None once the cgroup is gone."""
    try:
        memory, pids = files.memory.read_text(), files.pids.read_text()
    except OSError:
        return None
    try:
        cpu = files.cpu.read_text()
    except OSError:
        cpu = ""
    return parse(memory, pids, cpu)


def cpu_used(before: Counters | None, after: Counters | None) -> float | None:
    """CPU seconds spent between two readings (None when either did not say)."""
    if before is None or after is None or before.cpu_seconds is None or after.cpu_seconds is None:
        return None
    return max(0.0, after.cpu_seconds - before.cpu_seconds)
