"""A real Steward worker in its own process, for the tests that must kill, starve or outlast one (the fault
matrix, the infrastructure fault tests, durability, the worker's metrics port): its STEWARD_* environment
against the test's Redis, database and fake GitHub, its start and its stop (SIGTERM, then kill), the polling
wait, the slow docs page that keeps a work phase busy, the push count at the remote, and the first steps of a
docs run (`/steward docs`, its plan comment, `/steward approve`, its sandbox up).

In-process arq workers are tests/worker_support.py's."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.settings import Settings
from jobs.ledger import RunView
from tests.run_fixtures import (
    APPROVER,
    BRANCH,
    MAINTAINER,
    REPO_ID,
    FakeRunGitHub,
    Remote,
    comment_event,
    containers,
    git,
    make_remote,
    runs,
)
from tests.worker_support import enqueue

ROOT = Path(__file__).resolve().parent.parent
ARQ_WORKER = ("arq.worker", "Worker")
"""arq's own worker class: its poll loop ends when Redis goes away."""
STEWARD_WORKER = ("jobs.outage", "StewardWorker")
"""The class `steward worker` runs, which outlives an outage of Redis."""
WORKER = """
import logging
from app.settings import Settings
from {module} import {name}
from jobs.worker import worker_settings

logging.basicConfig(level=logging.INFO)
options = worker_settings(Settings())  # production functions, timeouts and GitHub retry policy
options["ctx"]["retry_base"] = {retry_base}
{name}(**options, poll_delay=0.05).run()
"""
STOP_SECONDS = 20
"""How long a worker has to end after SIGTERM before it is killed."""

Check = Callable[[], Awaitable[bool]]


def worker_env(settings: Settings, api_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without its STEWARD_* variables, plus the test's settings and `extra`."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")},
        "STEWARD_REDIS_URL": settings.redis_url,
        "STEWARD_DATABASE_URL": settings.db_url,
        "STEWARD_DATA_DIR": str(settings.data_dir),
        "STEWARD_GITHUB_API_URL": api_url,
        "STEWARD_APP_ID": str(settings.app_id),
        "STEWARD_REDELIVER_EVERY_MINUTES": "0",  # no cron pass against the real GitHub in a test
        "STEWARD_DIGEST_PASS": "false",
        "STEWARD_PRIVATE_KEY": settings.private_key_pem(),
        **(extra or {}),
    }


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`command` run from the project's root, its stderr appended to `log` (the child keeps its own fd)."""
    with log.open("ab") as err:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)


def start_worker(
    settings: Settings,
    api_url: str,
    log: Path,
    *,
    env: dict[str, str] | None = None,
    retry_base: float = 0.2,
    worker_class: tuple[str, str] = ARQ_WORKER,
) -> subprocess.Popen[bytes]:
    """A worker process with the production functions and timeouts, only its jobs' retry backoff shortened."""
    module, name = worker_class
    script = WORKER.format(module=module, name=name, retry_base=retry_base)
    return spawn([sys.executable, "-c", script], worker_env(settings, api_url, env), log)


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a graceful stop), and SIGKILL if the worker is not gone in STOP_SECONDS."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Workers:
    """The worker processes of one test, all started alike; `supervise` replaces a dead one, as a supervisor
    would, and `stop` ends every one still running."""

    settings: Settings
    api_url: str
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    retry_base: float = 0.2
    worker_class: tuple[str, str] = ARQ_WORKER
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    deaths: int = 0

    def start(self) -> subprocess.Popen[bytes]:
        proc = start_worker(
            self.settings,
            self.api_url,
            self.log,
            env=self.env,
            retry_base=self.retry_base,
            worker_class=self.worker_class,
        )
        self.procs.append(proc)
        return proc

    def alive(self) -> bool:
        """The latest worker is still running."""
        return bool(self.procs) and self.procs[-1].poll() is None

    def supervise(self) -> None:
        if self.procs and self.procs[-1].poll() is not None:
            self.deaths += 1
            self.start()

    def stop(self) -> None:
        for proc in self.procs:
            stop_worker(proc)


async def wait_for(
    check: Check,
    timeout: float,
    what: str,
    *,
    tick: Callable[[], None] | None = None,
    error: type[Exception] = AssertionError,
) -> None:
    """Poll `check` every 0.2 s until it holds (`tick` runs before each poll); `error` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tick is not None:
            tick()
        if await check():
            return
        await asyncio.sleep(0.2)
    raise error(f"timed out waiting for {what}")


def slow_page(seconds: float) -> str:
    """A docs page whose exec block sleeps `seconds`: a work phase long enough to break something under it."""
    command = f'python3 -c "import time; time.sleep({seconds}); print(42)"'
    return f"<!-- steward:exec {command} -->\n```\n```\n<!-- /steward:exec -->\n"


def log_pushes(remote: Remote) -> Remote:
    """Make the bare remote log every update of its refs, for `pushes` to count (returns the remote)."""
    git(remote.bare, "config", "core.logAllRefUpdates", "always")
    return remote


def slow_remote(tmp_path: Path, seconds: float) -> Remote:
    """The sample repository plus docs/slow.md (`slow_page(seconds)`), on a remote that logs its pushes."""
    return log_pushes(make_remote(tmp_path, {"docs/slow.md": slow_page(seconds)}))


def pushes(remote: Remote, ref: str = BRANCH) -> int:
    """How many times `ref` was updated on the remote (its reflog; 0 when it was never pushed)."""
    done = subprocess.run(
        ["git", "reflog", "show", "--format=%H", f"refs/heads/{ref}"],
        cwd=remote.bare,
        capture_output=True,
        text=True,
    )
    return len(done.stdout.split()) if done.returncode == 0 else 0


async def comment(settings: Settings, body: str, author: str, comment_id: int, delivery_id: str) -> None:
    """An issue comment's webhook, queued as the web process queues it."""
    event = comment_event(body, author, comment_id)
    await enqueue(
        settings, "handle_comment", f"comment:{REPO_ID}:{comment_id}", delivery_id=delivery_id, event=event
    )


def plan_posted(github: FakeRunGitHub) -> Check:
    async def posted() -> bool:
        return bool(github.plan_comments())

    return posted


async def ask_docs(settings: Settings, comment_id: int, delivery_id: str) -> None:
    await comment(settings, "/steward docs", MAINTAINER, comment_id, delivery_id)


async def approve(settings: Settings, comment_id: int, delivery_id: str) -> None:
    await comment(settings, "/steward approve", APPROVER, comment_id, delivery_id)


async def ask_and_approve(
    settings: Settings, github: FakeRunGitHub, ids: tuple[int, int], deliveries: tuple[str, str]
) -> RunView:
    """`/steward docs`, its plan comment (60 s), `/steward approve`; the run once its sandbox is up (60 s)."""
    await ask_docs(settings, ids[0], deliveries[0])
    await wait_for(plan_posted(github), 60, "the plan comment")
    await approve(settings, ids[1], deliveries[1])
    (run,) = await runs(settings)

    async def in_sandbox() -> bool:
        return await asyncio.to_thread(containers, run.id) > 0

    await wait_for(in_sandbox, 60, "the sandbox of the work job")
    return run
