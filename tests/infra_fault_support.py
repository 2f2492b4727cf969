"""Shared pieces of the infrastructure fault tests (Redis, the database, dockerd; the GitHub and SIGKILL
matrix has its own cases, tests/fault_support.py): a real worker process (tests/worker_process.py, with
jobs.outage.StewardWorker, the one `steward worker` runs) against a fake GitHub over HTTP, a docs run whose
work phase is slow enough to break something under it, the checks every case must pass (a true end state, one
plan comment, at most one PR, one push, the issue told), and `at_step`: the worker paused at a step by its
failpoint (jobs/failpoints.py, `pause`), something broken, the step let go, the thing mended."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.settings import Settings
from jobs import failpoints
from jobs.ledger import RunState, RunView
from tests.fake_github_server import serve
from tests.run_fixtures import BRANCH, FakeRunGitHub, Remote, fake_github, runs
from tests.worker_process import (
    STEWARD_WORKER,
    Workers,
    approve,
    ask_and_approve,
    ask_docs,
    plan_posted,
    pushes,
    slow_remote,
    wait_for,
)

BUSY_TIMEOUT_SECONDS = 5  # jobs.db sets PRAGMA busy_timeout=5000
SLOW_SECONDS = 8
"""How long the slow page's exec block keeps the work phase busy: long enough to break Redis, the database
or Docker under it."""


@dataclass
class Scene:
    """One docs run under way: the fake GitHub, its calls, the remote and the worker's log."""

    settings: Settings
    github: FakeRunGitHub
    calls: list[str]
    remote: Remote
    log: Path

    async def run(self) -> RunView:
        (run,) = await runs(self.settings)
        return run

    async def ask_and_approve(self) -> RunView:
        """`/steward docs`, its plan comment, `/steward approve`; returns the run once its sandbox is up."""
        return await ask_and_approve(self.settings, self.github, (4001, 4002), ("f1", "f2"))

    async def ends(self, timeout: float = 90) -> RunView:
        """Wait for the run to leave `running` and its plan comment to show that; returns the run."""

        async def ended() -> bool:
            state = (await self.run()).state
            shown = [
                c["body"] for c in self.github.plan_comments() if f"state **{state.value}**" in c["body"]
            ]
            return state != RunState.RUNNING and bool(shown)

        await wait_for(ended, timeout, "the run to end and its plan comment to say so")
        return await self.run()

    def assert_one_proposal(self) -> None:
        """Exactly one plan comment, one PR (opened once), one push, and the plan comment saying so."""
        tail = self.log.read_text()[-4000:]
        (plan,) = self.github.plan_comments()
        assert len(self.github.pulls) == 1, tail
        assert self.calls.count("POST /repos/Codertocat/Hello-World/pulls") == 1
        assert self.remote.sha(BRANCH) == self.github.pulls[0]["head"]["sha"]
        assert pushes(self.remote) == 1, "the branch was pushed more than once"
        assert f"#{self.github.pulls[0]['number']}" in plan["body"], plan["body"]


@contextmanager
def running(
    settings: Settings,
    tmp_path: Path,
    *,
    retry_base: float = 0.5,
    env: dict[str, str] | None = None,
    slow: float = SLOW_SECONDS,
    install: bool = False,
) -> Iterator[tuple[Scene, Workers]]:
    """A scene with one worker process (`steward worker`'s class) serving it, stopped at the end: the slow
    page sleeps `slow` seconds; `install`: the repository asks for an install step (the setup step runs)."""
    remote = slow_remote(tmp_path, slow)
    github = fake_github(remote, install=install)
    log = tmp_path / "worker.log"
    with serve(github) as (api_url, calls):
        handle = Workers(settings, api_url, log, env or {}, retry_base, STEWARD_WORKER)
        handle.start()
        try:
            yield Scene(settings, github, calls, remote, log), handle
        finally:
            handle.stop()


STEP_SLOW_SECONDS = 1
"""The slow page's sleep in a step case: the pause is the window there, not the work phase."""
STEP_BOUND = 120.0
"""The most each half of a step case (to the plan comment, then to the run's end) may take."""
STEPS = tuple(step for step in failpoints.STEPS if step != "work")
"""The steps a paused worker can be broken at; the work phase's cases break things under its slow command."""


@dataclass(frozen=True)
class Outage:
    """One thing broken at a step: `cut` while the worker waits at the step's failpoint, `mend` `seconds`
    after the step was let go without it. `seen` matches the worker's log once the outage reached the run (a
    case that finds no match proved nothing); `settled`, if set, waits after the run's end for the worker to
    have found the thing whole again."""

    cut: Callable[[], Awaitable[None]]
    mend: Callable[[], Awaitable[None]]
    seconds: float
    seen: str
    settled: Callable[[Scene], Awaitable[bool]] | None = None


async def at_step(
    settings: Settings, tmp_path: Path, step: str, outage: Outage, *, retry_base: float = 0.5
) -> None:
    """A docs run with `outage` at `step` (the worker paused there, the thing cut, the step let go, the thing
    mended), to its end; asserts the worker lived, the run proposed once, the issue was told and the outage
    was seen in the log."""
    state = tmp_path / "failpoints"
    state.mkdir()
    armed = {failpoints.ENV: f"{step}=pause", failpoints.STATE_ENV: str(state)}
    scene_of = running(
        settings, tmp_path, retry_base=retry_base, env=armed, slow=STEP_SLOW_SECONDS, install=step == "setup"
    )
    with scene_of as (scene, worker):

        async def paused() -> bool:
            return (state / f"{step}.paused").exists()

        async def broken_at_step() -> None:
            await wait_for(paused, STEP_BOUND, f"the worker to pause at {step}")
            await outage.cut()
            (state / f"{step}.go").touch()  # the step goes on without it
            await asyncio.sleep(outage.seconds)
            assert worker.alive(), scene.log.read_text()[-3000:]
            await outage.mend()

        await ask_docs(settings, 4001, "f1")
        if step == "plan":
            await broken_at_step()
        await wait_for(plan_posted(scene.github), STEP_BOUND, "the plan comment")
        await approve(settings, 4002, "f2")
        if step != "plan":
            await broken_at_step()
        run = await scene.ends(timeout=STEP_BOUND)
        if outage.settled is not None:
            settled = outage.settled

            async def whole() -> bool:
                return await settled(scene)

            await wait_for(whole, 60, "the worker to find it whole again")
        assert worker.alive(), scene.log.read_text()[-3000:]
    said = scene.log.read_text()
    assert run.state == RunState.PROPOSED, (run.state, said[-3000:])
    scene.assert_one_proposal()
    assert re.search(outage.seen, said), f"the outage never reached the run at {step}: {said[-3000:]}"


class ExclusiveLock:
    """Another process's connection holding the write lock of the ledger's SQLite file (BEGIN EXCLUSIVE; in
    WAL mode readers still read) from `take` until `release`: the worker's writes wait out the busy timeout
    and fail with "database is locked"."""

    def __init__(self, path: Path, limit: float = 60) -> None:
        self.path, self.limit = path, limit
        self._taken, self._free = threading.Event(), threading.Event()
        self._holder = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            self._taken.set()
            self._free.wait(self.limit)  # bounded: a failing test never holds the file for ever
            conn.execute("COMMIT")
        finally:
            conn.close()

    async def take(self) -> None:
        self._holder.start()
        assert await asyncio.to_thread(self._taken.wait, 30), "the lock was not taken"

    async def release(self) -> None:
        self._free.set()
        await asyncio.to_thread(self._holder.join, 30)


def sqlite_path(settings: Settings) -> Path:
    return Path(settings.db_url.split(":///", 1)[1])
