"""The fault matrix's harness for the cases tests/fault_support.py does not cover: a run of any writing
workflow (`/steward tests` as well as `/steward docs`), with extra worker environment (the agent engine's
model). It reuses that harness's parts (fake GitHub faults, worker processes, push counting, the Outcome and
its checks); only the run's command and branch differ."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from app.settings import Settings
from jobs import failpoints
from jobs.ledger import RunState
from tests.fake_github_server import serve
from tests.fault_support import (
    CASE_BOUND,
    FINAL,
    ROUTES,
    HttpFaults,
    Outcome,
    Workers,
    _told,
    _wait,
    count_pushes,
)
from tests.run_fixtures import APPROVER, MAINTAINER, REPO_ID, FakeRunGitHub, Remote, comment_event, runs
from tests.worker_support import enqueue


async def run_flow(
    settings: Settings,
    tmp: Path,
    github: FakeRunGitHub,
    remote: Remote,
    step: str,
    fault: str,
    *,
    command: str,
    branch: str,
    env: dict[str, str] | None = None,
    on_start: Callable[[Workers], None] | None = None,
    bound: float = CASE_BOUND,
) -> Outcome:
    """`command` then `/steward approve`, with `fault` at `step` ("none": no GitHub fault), to the run's end;
    `env` goes to every worker process; `on_start` is shown the workers once they start (a fake model that
    kills the worker midway through the agent's work needs them); `bound` is the most each half (to the plan,
    then to the end) may take."""
    pushes = count_pushes(remote)
    faults = HttpFaults()
    extra = dict(env or {})
    if fault == "kill":
        extra |= {failpoints.ENV: f"{step}=kill", failpoints.STATE_ENV: str(tmp / "failpoints")}
    started = time.monotonic()
    with serve(github, faults) as (api_url, _calls):
        workers = Workers(settings, api_url, tmp / "worker.log", extra)
        workers.start()
        try:
            if on_start is not None:
                on_start(workers)
            if fault in ("502", "primary", "secondary"):
                faults.arm(ROUTES[step], fault, 3 if fault == "502" else 1)
            event = comment_event(command, MAINTAINER, 5001)
            await enqueue(
                settings, "handle_comment", f"comment:{REPO_ID}:5001", delivery_id="f1", event=event
            )

            async def planned() -> bool:
                if not github.plan_comments():
                    return False
                found = await runs(settings)
                return bool(found) and found[0].state != RunState.PLANNING

            await _wait(planned, workers, bound, "the plan comment")
            event = comment_event("/steward approve", APPROVER, 5002)
            await enqueue(
                settings, "handle_comment", f"comment:{REPO_ID}:5002", delivery_id="f2", event=event
            )

            async def ended() -> bool:
                found = await runs(settings)
                return bool(found) and found[0].state in FINAL and _told(github, found[0])

            with contextlib.suppress(TimeoutError):  # judged by the caller: the run did not end
                await _wait(ended, workers, bound, "the run's end")
            await asyncio.sleep(1.0)  # anything still in flight lands before the count
        finally:
            workers.stop()
    found = await runs(settings)
    lines = pushes.read_text().splitlines() if pushes.exists() else []
    return Outcome(
        run=found[0] if found else None,
        plan_comments=len(github.plan_comments()),
        pulls=list(github.pulls),
        pushes=sum(1 for line in lines if line.endswith(f"refs/heads/{branch}")),
        bot_comments=github.bot_comments(7),
        remote_sha=remote.sha(branch),
        statuses=list(github.statuses),
        deaths=workers.deaths,
        injected=faults.injected,
        seconds=time.monotonic() - started,
    )
