"""triage_duplicates (the duplicates engine's triage_item) and review_submitted, through a real worker."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import respx

from app.events import PullRequestReviewEvent
from app.github.protocol import IssueRecord
from app.settings import Settings
from jobs.db import make_engine, migrate, sessions
from jobs.duplicates import semantic, store
from jobs.duplicates.jobs import triage_item
from jobs.ledger import Ledger, RunState
from tests.conftest import load_payload
from tests.github_mock import API, FakeGitHub, server_error
from tests.worker_support import enqueue, run_burst

pytestmark = pytest.mark.anyio

INSTALLATION = {"id": 1, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}


@pytest.fixture
def github() -> FakeGitHub:
    return FakeGitHub()


@pytest.fixture
def api(github: FakeGitHub) -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        github.install(router)
        yield router


def opened(kind: str) -> dict[str, Any]:
    payload = copy.deepcopy(load_payload("issues" if kind == "issue" else "pull_request", "opened"))
    payload["installation"] = INSTALLATION
    return payload


async def runs(settings: Settings, repo: str, number: int) -> list[Any]:
    engine = make_engine(settings.db_url)
    try:
        return await Ledger(sessions(engine)).runs_for(repo, number, limit=10)
    finally:
        await engine.dispose()


async def reasons(settings: Settings, run_id: str) -> list[str]:
    engine = make_engine(settings.db_url)
    try:
        trace = await Ledger(sessions(engine)).trace(run_id)
        return [t.reason for t in trace.transitions if t.to_state == RunState.CLOSED]
    finally:
        await engine.dispose()


async def indexed(settings: Settings, repo: str, number: int) -> bool:
    engine = make_engine(settings.db_url)
    try:
        return await store.get_item(sessions(engine), repo, number) is not None
    finally:
        await engine.dispose()


async def triage(settings: Settings, kind: str, delivery: str = "d-1") -> dict[str, Any]:
    event = opened(kind)
    await enqueue(
        settings, "triage_duplicates", f"triage:{delivery}", delivery_id=delivery, event=event, kind=kind
    )
    worker = await run_burst(settings)
    assert worker.jobs_failed == 0
    return event


async def test_an_opened_issue_is_indexed_and_records_one_closed_duplicates_run(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    event = await triage(settings, "issue")
    repo, number = event["repository"]["full_name"], event["issue"]["number"]
    [run] = await runs(settings, repo, number)
    assert run.workflow == "duplicates" and run.state == RunState.CLOSED
    assert await reasons(settings, run.id) == ["no candidate passed (0 ranked)"]  # the outcome, said once
    assert await indexed(settings, repo, number)
    assert github.token_bodies[0]["permissions"] == {
        "contents": "read",
        "issues": "write",
        "pull_requests": "read",
    }
    assert github.bot_comments(number) == []  # an empty index has nothing to suggest: silence


async def test_an_opened_repeat_of_an_earlier_issue_gets_one_comment_and_the_run_says_so(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(semantic.FORCE_LEXICAL_ENV, "1")
    event = opened("issue")
    repo, issue = event["repository"]["full_name"], event["issue"]
    earlier = [
        IssueRecord(n, title, body, "open", False, "octocat", html_url=f"https://github.com/{repo}/issues/{n}",
                    created_at="2019-01-01T00:00:00Z")
        for n, title, body in [
            (7, issue["title"], issue["body"]),  # the same report, filed earlier
            (8, "Dark mode colours", "The sidebar ignores the dark theme."),
            (9, "CSV export drops rows", "Exporting 10k rows gives 9,998."),
        ]
    ]  # fmt: skip
    engine = make_engine(settings.db_url)
    try:
        await migrate(engine)
        await store.upsert_items(sessions(engine), repo, earlier)
    finally:
        await engine.dispose()
    await triage(settings, "issue")
    [comment] = github.bot_comments(issue["number"])
    assert "#7 |" in comment and "#8 |" not in comment
    [run] = await runs(settings, repo, issue["number"])
    [reason] = await reasons(settings, run.id)
    assert reason.startswith("suggested #7 (")


@pytest.mark.parametrize(
    ("config", "kind"),
    [
        ("workflows:\n  duplicates:\n    enabled: false\n", "issue"),
        ("workflows:\n  duplicates:\n    on_open: false\n", "issue"),
        ("", "pull_request"),  # pull requests are triaged only when on_pull_requests is set
    ],
)
async def test_configuration_can_turn_triage_off(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter, config: str, kind: str
) -> None:
    if config:
        github.files[".github/steward.yml"] = config
    event = await triage(settings, kind)
    number = event["issue"]["number"] if kind == "issue" else event["pull_request"]["number"]
    assert await runs(settings, event["repository"]["full_name"], number) == []
    assert await indexed(settings, event["repository"]["full_name"], number)  # indexed all the same
    assert api["contents"].called


async def test_pull_requests_are_triaged_when_enabled(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    github.files[".github/steward.yml"] = "workflows:\n  duplicates:\n    on_pull_requests: true\n"
    event = await triage(settings, "pull_request")
    [run] = await runs(settings, event["repository"]["full_name"], event["pull_request"]["number"])
    assert run.state == RunState.CLOSED


async def test_a_retried_triage_does_not_record_twice(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    github.fail_next["contents"] = [server_error()]  # first try fails before recording; the retry records
    event = await triage(settings, "issue")
    ctx_event = opened("issue")
    engine = make_engine(settings.db_url)
    try:  # the same delivery run again by hand (e.g. after a crash between recording and finishing)
        ctx = {"settings": settings, "sessions": sessions(engine), "job_try": 1}
        assert (await triage_item(ctx, "d-1", ctx_event, "issue")).startswith("no candidate passed")
    finally:
        await engine.dispose()
    assert len(await runs(settings, event["repository"]["full_name"], event["issue"]["number"])) == 1


async def test_review_submitted_is_read_and_logged(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    raw = load_payload("pull_request_review", "submitted")
    event = PullRequestReviewEvent.model_validate(raw).model_dump(mode="json")
    await enqueue(settings, "review_submitted", "review:1", delivery_id="r-1", event=event)
    caplog.set_level("INFO")
    worker = await run_burst(settings)
    assert worker.jobs_complete == 1
    assert any(
        f"review {raw['review']['id']} ({raw['review']['state']})" in r.getMessage() for r in caplog.records
    )
