"""Shared pieces of the infrastructure fault tests (Redis, the database, dockerd; the GitHub and SIGKILL
matrix has its own cases, tests/fault_support.py): a real worker process (tests/worker_process.py, with
jobs.outage.StewardWorker, the one `steward worker` runs) against a fake GitHub over HTTP, a docs run whose
work phase is slow enough to break something under it, and the checks every case must pass (a true end
state, one plan comment, at most one PR, one push, the issue told)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.settings import Settings
from jobs.ledger import RunState, RunView
from tests.fake_github_server import serve
from tests.run_fixtures import BRANCH, FakeRunGitHub, Remote, fake_github, runs
from tests.worker_process import STEWARD_WORKER, Workers, ask_and_approve, pushes, slow_remote, wait_for

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
    settings: Settings, tmp_path: Path, *, retry_base: float = 0.5, env: dict[str, str] | None = None
) -> Iterator[tuple[Scene, Workers]]:
    """A scene with one worker process (`steward worker`'s class) serving it, stopped at the end."""
    remote = slow_remote(tmp_path, SLOW_SECONDS)
    github = fake_github(remote)
    log = tmp_path / "worker.log"
    with serve(github) as (api_url, calls):
        handle = Workers(settings, api_url, log, env or {}, retry_base, STEWARD_WORKER)
        handle.start()
        try:
            yield Scene(settings, github, calls, remote, log), handle
        finally:
            handle.stop()
