"""After each command no process of the sandbox may still run: the host reads and writes the workspace next.

Locally the container's cgroup is always frozen first (a frozen cgroup cannot fork: what it lists is all
there is), every thread group with a thread not the keeper's (uid 65534: tini and `sleep`) is killed through
a pidfd whatever its leader's state (a zombie leader's other threads still run), and the cgroup thawed; done
once no live thread but the keeper's is left. With a remote daemon, an exec as the sandbox user sends SIGKILL
to -1 (atomic against fork) and looks at every thread again.
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
"""Longest pause between two looks; the first ones are far shorter (freezing idle tasks takes ~0.1 ms)."""
_KILL_ALL = """i=0
while [ $i -lt 20 ]; do
  kill -KILL -1 2>/dev/null
  left=0
  for s in /proc/[0-9]*/task/[0-9]*/status; do
    case $s in /proc/$$/*) continue ;; esac
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

    threads: Path
    """Every thread (not just every process) in the cgroup: v1 `tasks`, v2 `cgroup.threads`."""
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
        return HostCgroup(v1_pids / "tasks", v1_freezer / container_id / "freezer.state", "FROZEN", "THAWED")
    for v2 in (
        CGROUP_ROOT / "docker" / container_id,
        CGROUP_ROOT / "system.slice" / f"docker-{container_id}.scope",
    ):
        if (v2 / "cgroup.freeze").exists():
            return HostCgroup(v2 / "cgroup.threads", v2 / "cgroup.freeze", "1", "0")
    return None


def _status(tid: int) -> dict[str, str]:
    with contextlib.suppress(OSError):
        lines = Path(f"/proc/{tid}/status").read_text().splitlines()
        return dict(line.split(":\t", 1) for line in lines if ":\t" in line)
    return {}


def _inside_uid(tid: int, host_uid: int) -> int:
    """The uid as the container sees it (Docker's userns-remap shifts what the host sees)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{tid}/uid_map").read_text().splitlines():
            inside, outside, count = map(int, line.split())
            if outside <= host_uid < outside + count:
                return inside + host_uid - outside
    return host_uid


@dataclass(frozen=True)
class Thread:
    """One thread of the container as the host sees it."""

    tid: int
    tgid: int
    keeper: bool
    alive: bool


def threads(cgroup: HostCgroup) -> list[Thread]:
    """Every thread in the cgroup, each with its thread group (the pid to kill); gone ones left out."""
    found = []
    for tid in map(int, cgroup.threads.read_text().split()):
        status = _status(tid)
        try:
            tgid, uid = int(status["Tgid"]), int(status["Uid"].split()[0])
        except (KeyError, ValueError, IndexError):
            continue  # it has already gone
        alive = status.get("State", "Z")[:1] not in ("Z", "X")
        found.append(Thread(tid, tgid, _inside_uid(tid, uid) == KEEPER_UID, alive))
    return found


def strays(cgroup: HostCgroup) -> list[int]:
    """Thread groups with a thread that is not the keeper's and can still run (a zombie leader's may)."""
    return sorted({t.tgid for t in threads(cgroup) if t.alive and not t.keeper})


def _kill(thread: Thread, container_id: str) -> None:
    """SIGKILL to the thread group through a pidfd, once known to be this container's (never a reused pid)."""
    try:
        fd = os.pidfd_open(thread.tgid)
    except ProcessLookupError:
        return
    try:  # the thread's own cgroup: a zombie leader's /proc/PID/cgroup already shows the root
        if container_id in Path(f"/proc/{thread.tgid}/task/{thread.tid}/cgroup").read_text():
            signal.pidfd_send_signal(fd, signal.SIGKILL)
    except (OSError, ProcessLookupError):
        pass  # it has already gone
    finally:
        os.close(fd)


def _wait(check: Callable[[], bool], seconds: float) -> bool:
    """Poll `check` until true or `seconds` pass; from 50 us backing off to _POLL (after every command)."""
    deadline, pause = time.monotonic() + seconds, 0.00005
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, _POLL)
    return True


def kill_strays_on_host(cgroup: HostCgroup, container_id: str) -> bool:
    """Freeze, kill every thread group not the keeper's (zombie or not), thaw; True once none can run."""
    cgroup.set_frozen(True)  # always: an unfrozen look can miss a process that forks and exits meanwhile
    try:
        if not _wait(cgroup.is_frozen, SETTLE_SECONDS):
            return False
        victims = {t.tgid: t for t in threads(cgroup) if not t.keeper}  # complete: nothing frozen can fork
        for thread in victims.values():
            _kill(thread, container_id)
    finally:
        cgroup.set_frozen(False)
    # Each victim has SIGKILL pending and cannot fork once thawed: the set only shrinks from here.
    return not victims or _wait(lambda: not strays(cgroup), SETTLE_SECONDS)


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
