"""A failed job's outcome says truly whether it was reported; GitHub being down is one log line."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from app.github.errors import GitHubUnavailable
from app.settings import Settings
from jobs.handlers.comment import handle_comment
from jobs.ledger import Ledger, RunState, RunView
from jobs.runs.guard import run_job
from tests.github_mock import API, FakeGitHub
from tests.test_jobs_comment import comment_event
from tests.worker_support import FAST_CTX

pytestmark = pytest.mark.anyio

REPO = "Codertocat/Hello-World"
UNREACHABLE: dict[str, dict[str, Any]] = {
    "connect": {"side_effect": httpx.ConnectError("connection refused")},
    "timeout": {"side_effect": httpx.ReadTimeout("timed out")},
    "5xx": {"return_value": httpx.Response(502, json={"message": "Bad Gateway"})},
}


@pytest.fixture(params=sorted(UNREACHABLE))
def github_down(request: pytest.FixtureRequest) -> Iterator[str]:
    """GitHub unreachable for every request, the installation token's included."""
    with respx.mock(base_url=API, assert_all_called=True) as router:
        router.route().mock(**UNREACHABLE[request.param])
        yield request.param


def _last_try(settings: Settings, **extra: Any) -> dict[str, Any]:
    return {"settings": settings, "job_try": 5, "job_id": "job:1", "max_tries": 5, **FAST_CTX, **extra}


def _check_log(caplog: pytest.LogCaptureFixture) -> None:
    """Every record is one line without a traceback, and none claims a report was made."""
    for record in caplog.records:
        assert record.exc_info is None and record.exc_text is None, record.getMessage()
        assert "\n" not in record.getMessage(), record.getMessage()
        assert "reported on the issue" not in record.getMessage()
    [why] = [
        r.getMessage()
        for r in caplog.records
        if "could not report the failure of job job:1" in r.getMessage()
    ]
    assert "GitHubUnavailable: " in why


async def test_a_comment_job_that_cannot_report_says_so_in_one_line(
    settings: Settings, github_down: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    outcome = await handle_comment(_last_try(settings), "d-1", comment_event("/steward duplicates"))
    assert outcome.startswith(f"failed (could not be reported on {REPO}#1: GitHubUnavailable: "), outcome
    _check_log(caplog)
    assert any(outcome in r.getMessage() for r in caplog.records if r.name == "jobs.handlers.comment")


async def test_a_run_job_that_cannot_report_fails_the_run_and_says_so_in_one_line(
    settings: Settings, github_down: str, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = await Ledger.connect(settings.db_url)
    try:
        run = await ledger.create_run(REPO, 1, "docs", actor="octocat", installation_id=1)

        async def body(ledger: Ledger, run: RunView) -> str:
            raise GitHubUnavailable("cannot reach GitHub for GET repos/Codertocat/Hello-World")

        caplog.set_level(logging.INFO)
        ctx = _last_try(settings, sessions=ledger._sessions)
        outcome = await run_job(ctx, run.id, "the work", body)
        state = (await ledger.require_run(run.id)).state
    finally:
        await ledger.close()
    assert outcome.startswith(f"failed (could not be reported on {REPO}#1: GitHubUnavailable: "), outcome
    assert state == RunState.FAILED
    _check_log(caplog)


async def test_a_failure_that_was_reported_says_where(settings: Settings) -> None:
    github = FakeGitHub()
    github.fail_next["permission"] = [httpx.Response(502, json={"message": "Bad Gateway"})]
    with respx.mock(base_url=API, assert_all_called=False) as router:
        github.install(router)
        outcome = await handle_comment(_last_try(settings), "d-1", comment_event("/steward duplicates"))
    assert outcome == f"failed (reported on {REPO}#1)"
    assert len(github.bot_comments(1)) == 1


@pytest.mark.parametrize("error", [RuntimeError("a write path nobody shadowed"), GitHubUnavailable("down")])
async def test_a_run_that_went_shadow_during_its_job_tells_nobody_of_its_failure(
    settings: Settings, error: Exception
) -> None:
    """The job started with a normal run; its body found the workflow now in shadow, then failed."""
    github = FakeGitHub()
    ledger = await Ledger.connect(settings.db_url)
    try:
        run = await ledger.create_run(REPO, 1, "docs", actor="octocat", installation_id=1)

        async def body(ledger: Ledger, run: RunView) -> str:
            await ledger.update_run(run.id, mode="shadow")
            raise error

        with respx.mock(base_url=API, assert_all_called=False) as router:
            github.install(router)
            outcome = await run_job(_last_try(settings, sessions=ledger._sessions), run.id, "the work", body)
            writes = [c.request for c in router.calls if c.request.method != "GET"]
        state = (await ledger.require_run(run.id)).state
    finally:
        await ledger.close()
    assert outcome.startswith(f"shadow run {run.id}: the work"), outcome
    assert state == RunState.FAILED
    assert github.bot_comments(1) == []
    assert [w.url.path for w in writes] == []  # not even a token minted to tell it


async def test_a_landing_whose_docs_run_cannot_start_is_logged_not_posted(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A merge nobody asked a run for in words: GitHub down at the last try posts nothing on the pull
    request (the job cannot know the repository wants docs runs before it reads the configuration)."""
    from jobs.handlers.landed import docs_on_landed
    from tests.test_docs_on_landed import merged_event

    caplog.set_level(logging.INFO)
    with respx.mock(base_url=API, assert_all_called=False) as router:
        router.route().mock(return_value=httpx.Response(502, json={"message": "Bad Gateway"}))
        outcome = await docs_on_landed(_last_try(settings), "d-1", "pull_request", merged_event())
        comments = [c.request for c in router.calls if c.request.url.path.endswith("/comments")]
    assert outcome.startswith("failed (not reported"), outcome
    assert comments == []
