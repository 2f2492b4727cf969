"""The archive transfer against a sandbox that keeps changing its workspace while the host pulls it back.

A loop the sandbox leaves running swaps a file for a link to a host file (a canary outside the workspace,
and /etc/passwd), a directory for a link to a host directory, grows one file and rewrites another. The
host must never make a link out of the workspace, never copy a host file in, never write outside the
workspace, and each pull is either a whole snapshot or a clear SandboxError (the host's copy kept as it
was): never another exception, never a hang.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import docker
import pytest

from sandbox import quiesce
from sandbox.base import SandboxError
from sandbox.docker_sandbox import DockerSandbox
from sandbox.limits import Limits
from tests.sandbox_fixtures import docker_client, sandbox_dir, sandbox_image  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.docker, pytest.mark.timeout(300)]

ROUNDS = 20
MAX_ROUNDS = 80
"""Pulls at least ROUNDS, and on until the race has shown each way (a busy machine cuts more pulls short)."""
SECRET = b"the host's canary\n"
LIMITS = Limits(memory="256m", cpus=1, pids=128, command_timeout=20, run_timeout=600)
SWAPPER = """cd /workspace
mkdir -p d && echo inside > d/f
(while :; do head -c 3000000 /dev/zero > shrink; sleep 0.02; done) &
while :; do
  ln -sfn {canary}/secret x; rm -f x; echo plain > x
  ln -sfn /etc/passwd p; rm -f p; echo plain > p
  mv d d.real; ln -sfn {canary} d; rm -f d; mv d.real d
  head -c 65536 /dev/zero >> grow
  [ "$(stat -c %s grow)" -gt 4000000 ] && : > grow
done
"""
LOOPS_LEFT = "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done | grep -c '^sh /tmp/swap.sh'"
"""How many swappers still run (the image has no pgrep)."""
Tree = dict[str, tuple[str, bytes]]


def _tree(ws: Path) -> Tree:
    """Every entry of the host's workspace by kind, never following a link."""
    found: Tree = {}
    for here, dirs, files in os.walk(ws, followlinks=False):
        for name in [*dirs, *files]:
            path = Path(here) / name
            where = path.relative_to(ws).as_posix()
            if path.is_symlink():
                found[where] = ("link", os.readlink(path).encode())
            elif path.is_dir():
                found[where] = ("dir", b"")
            elif path.is_file():
                found[where] = ("file", path.read_bytes())
            else:
                found[where] = ("special", b"")
    return found


def _assert_safe(ws: Path, canary: Path) -> Tree:
    """No link out of the workspace, no special file, no host file's bytes copied in."""
    host_passwd = Path("/etc/passwd").read_bytes()
    tree = _tree(ws)
    for where, (kind, data) in tree.items():
        assert kind != "special", where
        if kind == "link":
            target = (ws / where).parent / data.decode()
            assert not data.startswith(b"/") and os.path.normpath(target).startswith(f"{ws}/"), (where, data)
        if kind == "file":
            assert data not in (SECRET, host_passwd), where
    assert (canary / "secret").read_bytes() == SECRET and sorted(p.name for p in canary.iterdir()) == [
        "secret"
    ]
    return tree


def _bench(tmp_path: Path) -> tuple[Path, Path]:
    canary = tmp_path / "canary"  # the host's own, outside the workspace; only the host could follow a link
    canary.mkdir()
    (canary / "secret").write_bytes(SECRET)
    return sandbox_dir(tmp_path / "ws"), canary


def _sandbox(ws: Path, image: str, client: docker.DockerClient) -> DockerSandbox:
    run_id = f"test-pullrace-{uuid.uuid4().hex[:8]}"
    return DockerSandbox(ws, LIMITS, run_id=run_id, image=image, client=client, transfer_mode="archive")


async def _start_swapper(sandbox: DockerSandbox, canary: Path) -> None:
    script = SWAPPER.format(canary=canary)
    started = await sandbox.run(
        f"cat > /tmp/swap.sh <<'EOF'\n{script}EOF\nnohup sh /tmp/swap.sh >/dev/null 2>&1 & sleep 0.5"
    )
    assert started.ok, started.output


@pytest.mark.parametrize("kill", ["host", "exec"])
async def test_a_loop_left_running_is_gone_before_the_pull_so_it_is_a_still_snapshot(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    kill: str,
) -> None:
    """The first guard: the loop dies with its command, so what comes back no longer changes. `exec` kills
    as with a remote daemon, whose cgroup the host cannot see (what the archive transfer is for)."""
    if kill == "exec":
        monkeypatch.setattr(quiesce, "host_cgroup", lambda container_id: None)
    ws, canary = _bench(tmp_path)
    async with _sandbox(ws, sandbox_image, docker_client) as sandbox:
        await _start_swapper(sandbox, canary)
        first = _assert_safe(ws, canary)
        again = await sandbox.run("true")  # the host's copy in, the container's back: the same tree
        assert again.ok, again.output
        second = _assert_safe(ws, canary)
        survivors = await sandbox.run(LOOPS_LEFT)
    assert "grow" in first and first == second
    assert survivors.output.split() == ["0"], survivors.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["canary", "ws"]  # nothing beside, no staging left


async def test_a_pull_during_the_swaps_is_a_whole_tree_or_a_clear_error(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Defence in depth: with the kill after each command switched off, the loop runs through every pull."""
    noop: Callable[..., None] = lambda *args, **kwargs: None  # noqa: E731
    monkeypatch.setattr(quiesce, "quiet", noop)
    caplog.set_level(logging.INFO, logger="sandbox.docker_sandbox")
    ws, canary = _bench(tmp_path)
    trees, errors = [], []
    async with _sandbox(ws, sandbox_image, docker_client) as sandbox:
        try:  # the loop starts swapping at once, so even the pull after the command that starts it may race
            await _start_swapper(sandbox, canary)
        except SandboxError as exc:
            errors.append(str(exc))
        before, whole = _tree(ws), 0
        for done in range(MAX_ROUNDS):
            if done >= ROUNDS and _race_shown(trees, whole, errors, caplog.text):
                break  # under load most pulls may be cut short: go on, bounded, until some come back whole
            try:
                await sandbox.run("true")
                whole += 1
            except SandboxError as exc:  # anything else fails the test: a crash
                errors.append(str(exc))
                assert _tree(ws) == before, "a refused pull changed the host's workspace"
            trees.append(before := _assert_safe(ws, canary))
            assert sorted(p.name for p in tmp_path.iterdir()) == ["canary", "ws"]
    assert _race_shown(trees, whole, errors, caplog.text), (whole, errors)


def _race_shown(trees: list[Tree], whole: int, errors: list[str], logged: str) -> bool:
    """The race was on, and showed (which way is the scheduler's): the pulls differed, some came back whole,
    and a file cut short while the daemon packed it ended a stream early (said so, the host's copy kept) or
    a swapped-in link came back and was left out."""
    cut_short = any("not a valid tar stream" in error or "cut short" in error for error in errors)
    differed = len({repr(sorted(tree.items())) for tree in trees}) > 1
    return differed and whole > 0 and (cut_short or "link out of the workspace" in logged)
