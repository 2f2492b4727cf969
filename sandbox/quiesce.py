"""After each command no process of the sandbox may still run: the host reads and writes the workspace next.

Locally the container's cgroup is frozen, every process but the keeper (uid 65534: tini and `sleep`) is
killed through a pidfd, and the cgroup thawed; a frozen cgroup cannot fork, so nothing slips through. With a
remote daemon, an exec as the sandbox user sends SIGKILL to -1 (atomic against fork) and looks again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError

from sandbox import container
from sandbox.base import SandboxError
from sandbox.cgroup import CGROUP_ROOT
from sandbox.execution import SANDBOX_USER

KEEPER_UID = 65534
SETTLE_SECONDS = 2.0
_POLL = 0.002
_KILL_ALL = """i=0
while [ $i -lt 20 ]; do
  kill -KILL -1 2>/dev/null
  left=0
  for s in /proc/[0-9]*/status; do
    [ "$s" = /proc/$$/status ] && continue
    [ -e "$s" ] || continue
    grep -qs '^Uid:[[:space:]]*65534[[:space:]]' "$s" || grep -qs '^State:[[:space:]]*[ZX]' "$s" || left=1
  done
  [ $left = 0 ] && exit 0
  i=$((i + 1))
done
exit 3
"""


@dataclass(frozen=True)
class HostCgroup:
    """The container's cgroup files on this host: who is in it, and how to freeze it (v1 or v2)."""

    procs: Path
    freeze: Path
    frozen_value: str
    thawed_value: str

    def set_frozen(self, frozen: bool) -> None:
        self.freeze.write_text(self.frozen_value if frozen else self.thawed_value)

    def is_frozen(self) -> bool:
        if self.freeze.name == "freezer.state":
            return self.freeze.read_text().strip() == "FROZEN"
        return "frozen 1" in (self.freeze.parent / "cgroup.events").read_text()


def host_cgroup(container_id: str) -> HostCgroup | None:
    """The cgroup files when the daemon is local (cgroupfs v1, cgroupfs v2, systemd v2), else None."""
    v1_pids, v1_freezer = CGROUP_ROOT / "pids" / "docker" / container_id, CGROUP_ROOT / "freezer" / "docker"
    if (v1_pids / "cgroup.procs").exists() and (v1_freezer / container_id / "freezer.state").exists():
        return HostCgroup(
            v1_pids / "cgroup.procs", v1_freezer / container_id / "freezer.state", "FROZEN", "THAWED"
        )
    for v2 in (
        CGROUP_ROOT / "docker" / container_id,
        CGROUP_ROOT / "system.slice" / f"docker-{container_id}.scope",
    ):
        if (v2 / "cgroup.freeze").exists():
            return HostCgroup(v2 / "cgroup.procs", v2 / "cgroup.freeze", "1", "0")
    return None


def _status(pid: int) -> dict[str, str]:
    with contextlib.suppress(OSError):
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        return dict(line.split(":\t", 1) for line in lines if ":\t" in line)
    return {}


def _inside_uid(pid: int, host_uid: int) -> int:
    """The uid as the container sees it (Docker's userns-remap shifts what the host sees)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/uid_map").read_text().splitlines():
            inside, outside, count = map(int, line.split())
            if outside <= host_uid < outside + count:
                return inside + host_uid - outside
    return host_uid


def strays(cgroup: HostCgroup) -> list[int]:
    """Host pids in the container that are not the keeper and can still run (zombies cannot)."""
    found = []
    for pid in map(int, cgroup.procs.read_text().split()):
        status = _status(pid)
        if not status or status.get("State", "Z")[:1] in ("Z", "X"):
            continue
        if _inside_uid(pid, int(status.get("Uid", "0").split()[0])) != KEEPER_UID:
            found.append(pid)
    return found


def _kill(pid: int, container_id: str) -> None:
    """SIGKILL through a pidfd, once the pid is known to be in this container (never a reused host pid)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        if container_id in Path(f"/proc/{pid}/cgroup").read_text():
            signal.pidfd_send_signal(fd, signal.SIGKILL)
    except (OSError, ProcessLookupError):
        pass  # it has already gone
    finally:
        os.close(fd)


def _wait(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(_POLL)
    return True


def kill_strays_on_host(cgroup: HostCgroup, container_id: str) -> bool:
    """Freeze, kill every non-keeper process, thaw; True once none can run. Cheap when there are none."""
    if not strays(cgroup):
        return True
    cgroup.set_frozen(True)
    try:
        if not _wait(cgroup.is_frozen, SETTLE_SECONDS):
            return False
        for pid in strays(cgroup):
            _kill(pid, container_id)
    finally:
        cgroup.set_frozen(False)
    return _wait(lambda: not strays(cgroup), SETTLE_SECONDS)


def kill_strays_by_exec(client: docker.DockerClient, container_id: str) -> bool:
    """For a remote daemon: the sandbox user kills all it may; exit 0 only when just the keeper is left."""
    api = client.api
    try:
        exec_id = api.exec_create(container_id, ["sh", "-c", _KILL_ALL], user=SANDBOX_USER)["Id"]
        api.exec_start(exec_id)
        return bool(api.exec_inspect(exec_id).get("ExitCode") == 0)
    except APIError:
        return False  # e.g. every pid is taken: the restart settles it


def kill_strays(client: docker.DockerClient, container_id: str) -> bool:
    """True when no process but the keeper can run in the container."""
    cgroup = host_cgroup(container_id)
    if cgroup is None:
        return kill_strays_by_exec(client, container_id)
    try:
        return kill_strays_on_host(cgroup, container_id)
    except OSError:
        return False  # the cgroup went away under us (the container stopped): the restart settles it


def quiet(client: docker.DockerClient, container_id: str, *, reset_first: bool = False) -> None:
    """Leave only the keeper running: kill the strays, else restart the container; raise if that fails."""
    if not reset_first and kill_strays(client, container_id):
        return
    container.reset(client, container_id)  # killing PID 1 ends the whole pid namespace
    if not kill_strays(client, container_id):
        raise SandboxError("a process of the sandbox outlived its command and a restart; stopping here")
