"""dockerd restarts during the work phase of a docs run (a private daemon: the machine's main one serves other
tests): the container is gone with it, the worker keeps running, and the run ends in a true state, told on the
issue, with one plan comment, at most one PR and at most one push."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.settings import Settings
from jobs.ledger import RunState
from tests.infra_fault_support import running
from tests.private_dockerd import PrivateDockerd, docker0
from tests.run_fixtures import BRANCH, git
from tests.worker_process import pushes

pytestmark = [pytest.mark.anyio, pytest.mark.docker]


@pytest.fixture
def dockerd(monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivateDockerd]:
    daemon, bridge = PrivateDockerd(), docker0()
    try:
        daemon.start()
        daemon.load_image()
        monkeypatch.setenv("DOCKER_HOST", daemon.host)  # this test's docker clients and its worker's
        yield daemon
    finally:
        daemon.close()
    assert docker0() == bridge, "the private dockerd removed the host's docker0"


async def test_dockerd_restarts_in_the_work_phase_and_the_run_ends_true(
    settings: Settings, tmp_path: Path, dockerd: PrivateDockerd
) -> None:
    with running(settings, tmp_path, retry_base=0.5) as (scene, worker):
        await scene.ask_and_approve()
        await asyncio.to_thread(dockerd.restart)
        said_on_issue = [c["body"] for c in scene.github.comments.get(7, [])][-1:]
        assert (await scene.run()).state == RunState.RUNNING, (
            "the restart came after the run",
            said_on_issue,
        )
        assert worker.alive(), scene.log.read_text()[-3000:]
        run = await scene.ends()
        assert worker.alive()
    said = scene.log.read_text()
    assert len(scene.github.pulls) <= 1 and pushes(scene.remote) <= 1
    assert run.state == RunState.PROPOSED, (run.state, said[-3000:])
    scene.assert_one_proposal()
    # Where the restart lands decides the path: a command it cuts short raises SandboxLost and the job is
    # tried again; one it misses runs in the container the daemon brought back. Either way, one true proposal.
    assert "```text\n42\n```" in git(scene.remote.bare, "show", f"{BRANCH}:docs/slow.md")
