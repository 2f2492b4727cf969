"""Shared pieces of the infrastructure fault tests (Redis, the database, dockerd; the GitHub and SIGKILL
matrix has its own harness, tests/fault_support.py): a real worker process (jobs.outage.StewardWorker, the one
`steward worker` runs) against a fake GitHub over HTTP, a docs run whose work phase is slow enough to break
something under it, and the checks every case must pass (a true end state, one plan comment, at most one PR,
one push, the issue told)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.settings import Settings
from jobs.ledger import RunState, RunView
from tests.fake_github_server import serve
from tests.run_fixtures import (
    APPROVER,
    BRANCH,
    MAINTAINER,
    REPO_ID,
    FakeRunGitHub,
    Remote,
    comment_event,
    containers,
    fake_github,
    git,
    make_remote,
    runs,
)
from tests.worker_support import enqueue

ROOT = Path(__file__).resolve().parent.parent
SLOW_SECONDS = 8
SLOW_PAGE = (
    f'<!-- steward:exec python3 -c "import time; time.sleep({SLOW_SECONDS}); print(42)" -->\n'
    "```\n```\n<!-- /steward:exec -->\n"
)
"""A page whose exec block keeps the work phase busy long enough to break Redis, the database or Docker."""
WORKER = """
import logging
from app.settings import Settings
from jobs.outage import StewardWorker
from jobs.worker import worker_settings

logging.basicConfig(level=logging.INFO)
options = worker_settings(Settings())  # production functions and timeouts
options["ctx"]["retry_base"] = {retry_base}
StewardWorker(**options, poll_delay=0.05).run()
"""


def start_worker(
    settings: Settings, api_url: str, log: Path, *, env: dict[str, str] | None = None, retry_base: float = 0.5
) -> subprocess.Popen[bytes]:
    """`steward worker`'s worker class in its own process, its log appended to `log`."""
    child = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")},
        "STEWARD_REDIS_URL": settings.redis_url,
        "STEWARD_DATABASE_URL": settings.db_url,
        "STEWARD_DATA_DIR": str(settings.data_dir),
        "STEWARD_GITHUB_API_URL": api_url,
        "STEWARD_APP_ID": str(settings.app_id),
        "STEWARD_REDELIVER_EVERY_MINUTES": "0",
        "STEWARD_DIGEST_PASS": "false",
        "STEWARD_PRIVATE_KEY": settings.private_key_pem(),
        **(env or {}),
    }
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-c", WORKER.format(retry_base=retry_base)],
            cwd=ROOT,
            env=child,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def slow_remote(tmp_path: Path) -> Remote:
    """The sample repository plus a slow page, on a bare remote that logs every update of its refs."""
    remote = make_remote(tmp_path, {"docs/slow.md": SLOW_PAGE})
    git(remote.bare, "config", "core.logAllRefUpdates", "always")
    return remote


def pushes(remote: Remote, ref: str = BRANCH) -> int:
    """How many times `ref` was updated on the remote (its reflog; 0 when it was never pushed)."""
    done = subprocess.run(
        ["git", "reflog", "show", "--format=%H", f"refs/heads/{ref}"],
        cwd=remote.bare,
        capture_output=True,
        text=True,
    )
    return len(done.stdout.split()) if done.returncode == 0 else 0


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
        event = comment_event("/steward docs", MAINTAINER, 4001)
        await enqueue(
            self.settings, "handle_comment", f"comment:{REPO_ID}:4001", delivery_id="f1", event=event
        )

        async def planned() -> bool:
            return bool(self.github.plan_comments())

        await wait_for(planned, 60, "the plan comment")
        event = comment_event("/steward approve", APPROVER, 4002)
        await enqueue(
            self.settings, "handle_comment", f"comment:{REPO_ID}:4002", delivery_id="f2", event=event
        )
        run = await self.run()

        async def in_sandbox() -> bool:
            return await asyncio.to_thread(containers, run.id) > 0

        await wait_for(in_sandbox, 60, "the sandbox of the work job")
        return run

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
def running(settings: Settings, tmp_path: Path, **worker: object) -> Iterator[tuple[Scene, Worker]]:
    """A scene with one worker process serving it (stopped at the end)."""
    remote = slow_remote(tmp_path)
    github = fake_github(remote)
    log = tmp_path / "worker.log"
    with serve(github) as (api_url, calls):
        handle = Worker(settings, api_url, log, worker)
        handle.start()
        try:
            yield Scene(settings, github, calls, remote, log), handle
        finally:
            handle.stop()


class Worker:
    """The worker process of a scene, which a test may restart with the same settings."""

    def __init__(self, settings: Settings, api_url: str, log: Path, options: dict[str, object]) -> None:
        self.settings, self.api_url, self.log, self.options = settings, api_url, log, options
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = start_worker(self.settings, self.api_url, self.log, **self.options)  # type: ignore[arg-type]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            stop_worker(self.proc)
