"""dockerd restarts under a docs run (a private daemon: the machine's main one serves other tests): during the
work phase's command, and while the worker is paused at each other step by its failpoint (jobs/failpoints.py,
`pause`). Whatever the restart takes with it (the sandbox container at setup, nothing after the work), the
worker keeps running and the run ends in a true state, told on the issue, with one plan comment, at most one
PR and at most one push; every case here proposes, once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.settings import Settings
from jobs import failpoints
from jobs.ledger import RunState
from tests.infra_fault_support import Scene, running
from tests.private_dockerd import PrivateDockerd, docker0
from tests.run_fixtures import BRANCH, SAMPLE, git
from tests.worker_process import Workers, approve, ask_docs, plan_posted, pushes, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

STEPS = ("plan", "clone", "setup", "diff", "push", "pr", "status", "result")
"""Every step but the work phase (the first case's): the pause holds the step while dockerd restarts."""
SETUP = "setup:\n  install: echo installed\n"
"""The setup step runs only when the repository asks for an install step (as tests/test_fault_matrix.py's)."""


@pytest.fixture(scope="module")
def dockerd() -> Iterator[PrivateDockerd]:
    daemon, bridge = PrivateDockerd(), docker0()
    env = pytest.MonkeyPatch()
    try:
        daemon.start()
        daemon.load_image()
        env.setenv("DOCKER_HOST", daemon.host)  # this module's docker clients and its workers'
        yield daemon
    finally:
        env.undo()
        daemon.close()
    assert docker0() == bridge, "the private dockerd removed the host's docker0"


def _ended_true(scene: Scene, worker: Workers, state: RunState) -> None:
    said = scene.log.read_text()
    assert worker.alive(), said[-3000:]
    assert len(scene.github.pulls) <= 1 and pushes(scene.remote) <= 1
    assert state == RunState.PROPOSED, (state, said[-3000:])
    scene.assert_one_proposal()
    assert "```text\n42\n```" in git(scene.remote.bare, "show", f"{BRANCH}:docs/slow.md")


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
        _ended_true(scene, worker, run.state)
    # Where the restart lands decides the path: a command it cuts short raises SandboxLost and the job is
    # tried again; one it misses runs in the container the daemon brought back. Either way, one true proposal.


@pytest.mark.parametrize("step", STEPS)
async def test_dockerd_restarts_while_the_worker_is_at_the_step_and_the_run_ends_true(
    settings: Settings, tmp_path: Path, dockerd: PrivateDockerd, step: str
) -> None:
    state = tmp_path / "failpoints"
    state.mkdir()
    armed = {failpoints.ENV: f"{step}=pause", failpoints.STATE_ENV: str(state)}
    with running(settings, tmp_path, retry_base=0.5, env=armed) as (scene, worker):
        if step == "setup":
            config = (SAMPLE / ".github" / "steward.yml").read_text() + SETUP
            scene.github.files[".github/steward.yml"] = config

        async def restart() -> None:
            async def paused() -> bool:
                return (state / f"{step}.paused").exists()

            await wait_for(paused, 120, f"the worker to pause at {step}")
            await asyncio.to_thread(dockerd.restart)  # the step goes on with what the restart left
            (state / f"{step}.go").touch()

        await ask_docs(settings, 4001, "f1")
        if step == "plan":
            await restart()
        await wait_for(plan_posted(scene.github), 90, "the plan comment")
        await approve(settings, 4002, "f2")
        if step != "plan":
            await restart()
        run = await scene.ends(timeout=120)
        _ended_true(scene, worker, run.state)
        if step == "setup":  # the restart stopped the sandbox it was installing in: that try was lost
            said = scene.log.read_text()
            assert "stopped between two commands" in said, said[-3000:]
