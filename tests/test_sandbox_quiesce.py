"""Nothing a command started still runs when it returns: double forks, setsid and fork loops included."""

from __future__ import annotations

import shlex
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from sandbox import quiesce
from sandbox.docker_sandbox import DockerSandbox
from sandbox.limits import Limits
from tests.sandbox_fixtures import docker_client, sandbox_dir, sandbox_image, started_sandbox  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

LIMITS = Limits(memory="256m", cpus=1, pids=128, command_timeout=20, run_timeout=300)
HEARTBEAT = "while :; do date +%s%N > /workspace/beat; sleep 0.01; done"
# The main thread ends with SYS_exit (not exit_group): the leader shows "State: Z", its second thread runs on.
ZOMBIE_LEADER = r"""
import ctypes, threading, time
def beat():
    while True:
        with open('/workspace/beat', 'w') as f:
            f.write(str(time.time_ns()))
        time.sleep(0.01)
threading.Thread(target=beat).start()
time.sleep(0.1)
ctypes.CDLL(None).syscall(60, 0)  # SYS_exit on x86_64: only this thread ends
"""
FORK_LOOP = (
    "import os,time\nwhile True:\n"
    '    if os.fork(): os._exit(0)\n    open("/workspace/beat","w").write(str(time.time()))'
)
RUNAWAYS = {
    "background": f"nohup sh -c '{HEARTBEAT}' >/dev/null 2>&1 & echo $!",
    "double fork + setsid": (
        f"(setsid sh -c 'echo $$ > /tmp/pid; {HEARTBEAT}' >/dev/null 2>&1 &); sleep 0.2; cat /tmp/pid"
    ),
    "fork loop": f"nohup python3 -c {shlex.quote(FORK_LOOP)} >/dev/null 2>&1 & echo $!",
    "zombie leader, live thread": (
        f"nohup python3 -c {shlex.quote(ZOMBIE_LEADER)} >/dev/null 2>&1 & sleep 0.3; echo $!"
    ),
}
OTHERS = """import os
def mine(pid):
    for tid in os.listdir(f'/proc/{pid}/task'):
        fields = dict(l.split(':', 1) for l in open(f'/proc/{pid}/task/{tid}/status') if ':' in l)
        if fields['Uid'].split()[0] == '1000' and fields['State'].split()[0] not in 'ZX':
            return True
    return False
print(sum(1 for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid() and mine(p)))
"""


@pytest.fixture(scope="module")
def shared(
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DockerSandbox]:
    ws = tmp_path_factory.mktemp("quiesce") / "ws"
    yield from started_sandbox(ws, LIMITS, sandbox_image, docker_client, "quiesce")


def _cgroup(sandbox: DockerSandbox) -> quiesce.HostCgroup:
    assert sandbox.container_id is not None
    cgroup = quiesce.host_cgroup(sandbox.container_id)
    assert cgroup is not None, "these tests expect a local Docker daemon"
    return cgroup


def _beat(workspace: Path) -> bytes | None:
    try:
        return (workspace / "beat").read_bytes()
    except FileNotFoundError:
        return None


@pytest.mark.parametrize("how", list(RUNAWAYS))
async def test_a_process_left_behind_does_not_outlive_its_command(shared: DockerSandbox, how: str) -> None:
    (shared.workspace / "beat").unlink(missing_ok=True)
    started = await shared.run(["sh", "-c", RUNAWAYS[how]])
    assert started.exit_code == 0, started.output
    assert quiesce.strays(_cgroup(shared)) == []  # checked from the host, the moment run() returns
    first = _beat(shared.workspace)
    time.sleep(0.3)
    assert _beat(shared.workspace) == first  # nothing keeps writing
    pid = started.output.strip().splitlines()[-1] if started.output.strip() else ""
    if pid.isdigit():
        gone = await shared.run(["sh", "-c", f"kill -0 {pid} 2>/dev/null && echo alive || echo gone"])
        assert gone.output.strip() == "gone"
    alive = await shared.run(["python3", "-c", OTHERS])
    assert alive.output.strip() == "0"  # seen from inside too: no other process of the sandbox user


async def test_the_remote_way_kills_everything_the_sandbox_user_owns(
    shared: DockerSandbox,
    docker_client: docker.DockerClient,  # noqa: F811
) -> None:
    api, cid = docker_client.api, shared.container_id
    assert cid is not None
    for command in RUNAWAYS.values():
        exec_id = api.exec_create(cid, ["sh", "-c", command], user="1000:1000", workdir="/workspace")["Id"]
        api.exec_start(exec_id, detach=True)
    time.sleep(0.5)
    assert quiesce.strays(_cgroup(shared))
    assert quiesce.kill_strays_by_exec(docker_client, cid)
    assert quiesce.strays(_cgroup(shared)) == []


async def test_a_survivor_the_sandbox_user_cannot_kill_is_seen_and_the_restart_ends_it(
    shared: DockerSandbox,
    docker_client: docker.DockerClient,  # noqa: F811
) -> None:
    api, cid = docker_client.api, shared.container_id
    assert cid is not None
    exec_id = api.exec_create(cid, ["sleep", "300"], user="0:0")["Id"]  # not something a command can do
    api.exec_start(exec_id, detach=True)
    time.sleep(0.3)
    assert not quiesce.kill_strays_by_exec(docker_client, cid)  # uid 1000 cannot signal it: it says so
    quiesce.quiet(docker_client, cid, reset_first=True)
    assert quiesce.strays(_cgroup(shared)) == []
    assert (await shared.run(["true"])).exit_code == 0


async def test_with_a_remote_daemon_a_survivor_leads_to_a_restart(
    shared: DockerSandbox,
    docker_client: docker.DockerClient,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No cgroup files here (a remote DOCKER_HOST): the exec finds the survivor, the restart ends it."""
    api, cid = docker_client.api, shared.container_id
    assert cid is not None
    host = _cgroup(shared)
    monkeypatch.setattr(quiesce, "host_cgroup", lambda container_id: None)
    exec_id = api.exec_create(cid, ["sleep", "300"], user="0:0")["Id"]
    api.exec_start(exec_id, detach=True)
    time.sleep(0.3)
    before = api.inspect_container(cid)["State"]["StartedAt"]
    result = await shared.run(["true"])  # the kill after it cannot reach a root process: restart
    assert result.exit_code == 0
    assert api.inspect_container(cid)["State"]["StartedAt"] != before
    assert quiesce.strays(host) == []


def _start_detached(docker_client: docker.DockerClient, cid: str, command: str) -> None:  # noqa: F811
    api = docker_client.api
    exec_id = api.exec_create(cid, ["sh", "-c", command], user="1000:1000", workdir="/workspace")["Id"]
    api.exec_start(exec_id, detach=True)


async def test_a_fork_loop_never_slips_between_the_reads_of_the_check(
    shared: DockerSandbox,
    docker_client: docker.DockerClient,  # noqa: F811
) -> None:
    """Each pass the looper has a new pid: a look that is not frozen can list one pid and find it gone."""
    cid, cgroup = shared.container_id, _cgroup(shared)
    assert cid is not None
    for _ in range(25):
        _start_detached(docker_client, cid, RUNAWAYS["fork loop"])
        deadline = time.monotonic() + 5
        while not quiesce.strays(cgroup) and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.05)
        assert quiesce.kill_strays_on_host(cgroup, cid)
        assert quiesce.strays(cgroup) == []
