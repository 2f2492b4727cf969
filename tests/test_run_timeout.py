"""A work job that runs out of time ends its run as failed, says so on the issue, kills the sandbox and is
not retried (arq's own timeout would fail the job silently and leave the run `running`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import respx
from arq import func

from app.settings import Settings
from jobs.functions import FUNCTIONS
from jobs.ledger import RunState
from jobs.runs.deadline import within
from jobs.runs.working import work_run
from tests.github_mock import API
from tests.run_fixtures import (
    APPROVER,
    BRANCH,
    MAINTAINER,
    REPO_ID,
    comment_event,
    containers,
    fake_github,
    make_remote,
    runs,
    say,
    trace_of,
)
from tests.worker_support import enqueue, run_burst

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

SLOW = 'python3 -c "import time; time.sleep(120)"'
BUDGET = 20.0
"""The work job's time in this test (production: the worker's job timeout less a margin)."""


def short_work() -> list[Any]:
    """The production functions, with the work job's deadline shortened."""
    kept = [f for f in FUNCTIONS if getattr(f, "name", "") != "work_run"]
    return [*kept, func(within(work_run, BUDGET, "the work", margin=0), name="work_run", timeout=BUDGET + 30)]


async def test_a_work_job_out_of_time_fails_the_run_and_says_so(settings: Settings, tmp_path: Path) -> None:
    block = f"<!-- steward:exec {SLOW} -->\n```\n```\n<!-- /steward:exec -->\n"
    remote = make_remote(tmp_path, {"docs/slow.md": block})
    github = fake_github(remote)
    with respx.mock(base_url=API, assert_all_called=False) as router:
        github.install(router)
        await say(settings, "/steward docs", MAINTAINER, 5001)
        event = comment_event("/steward approve", APPROVER, 5002)
        await enqueue(settings, "handle_comment", f"comment:{REPO_ID}:5002", delivery_id="t2", event=event)
        started = time.monotonic()
        worker = await run_burst(settings, functions=short_work())
        took = time.monotonic() - started
    (run,) = await runs(settings)
    assert run.state == RunState.FAILED
    assert BUDGET <= took < 90  # stopped by its deadline, long before the 120 s step would end
    assert worker.jobs_failed == 0 and worker.jobs_retried == 0  # ended cleanly, not retried
    told = [body for body in github.bot_comments(7) if "steward:run-result" in body]
    assert (
        len(told) == 1 and "the work took longer than 20 seconds" in told[0] and "/steward retry" in told[0]
    )
    (plan,) = github.plan_comments()
    assert "state **failed**" in plan["body"]
    assert remote.sha(BRANCH) is None and not github.pulls
    assert containers(run.id) == 0
    trace = await trace_of(settings, run.id)
    assert trace.transitions[-1].to_state == RunState.FAILED
    assert trace.transitions[-1].reason == "the work took longer than 20 seconds"
