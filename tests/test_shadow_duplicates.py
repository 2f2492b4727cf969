"""Duplicate triage in shadow mode through a real worker: the suggestions (candidates, scores) are recorded,
and nothing is commented or labelled; GitHub's HTTP mocked with respx, every write route failing the test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx

from app.github.protocol import IssueRecord
from app.settings import Settings
from jobs.db import make_engine, migrate, sessions
from jobs.duplicates import semantic, store
from jobs.shadow.store import TRIAGE_SCOPE, ShadowRecord, records
from tests.github_mock import API, FakeGitHub
from tests.test_jobs_triage import opened, reasons, runs
from tests.worker_support import enqueue, run_burst

pytestmark = pytest.mark.anyio

SHADOW = "workflows:\n  duplicates:\n    mode: shadow\n    label: duplicate\n"
TOKEN_PATH = "/app/installations/1/access_tokens"


@pytest.fixture
def github() -> FakeGitHub:
    fake = FakeGitHub()
    fake.files[".github/steward.yml"] = SHADOW
    return fake


@pytest.fixture
def forbidden() -> list[str]:
    return []


@pytest.fixture
def api(github: FakeGitHub, forbidden: list[str]) -> Iterator[respx.MockRouter]:
    def refuse(request: httpx.Request) -> httpx.Response:
        forbidden.append(f"{request.method} {request.url.path}")
        return httpx.Response(
            403, json={"message": "Resource not accessible by integration", "status": "403"}
        )

    with respx.mock(base_url=API, assert_all_called=False) as router:
        github.install(router)
        for name in ("create_comment", "update_comment"):
            router.routes[name].side_effect = refuse
        router.route().mock(side_effect=refuse)  # labels, PUT, DELETE and anything else
        yield router


async def seed(settings: Settings, repo: str, title: str, body: str) -> None:
    earlier = [
        IssueRecord(n, t, b, "open", False, "octocat", html_url=f"https://github.com/{repo}/issues/{n}",
                    created_at="2019-01-01T00:00:00Z")
        for n, t, b in [
            (7, title, body),  # the same report, filed earlier
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


async def suggestions(settings: Settings) -> list[ShadowRecord]:
    engine = make_engine(settings.db_url)
    try:
        return await records(sessions(engine), workflow="duplicates")
    finally:
        await engine.dispose()


def writes(api: respx.MockRouter) -> list[str]:
    return [
        f"{c.request.method} {c.request.url.path}"
        for c in api.calls
        if c.request.method != "GET" and c.request.url.path != TOKEN_PATH
    ]


async def test_shadow_triage_records_the_suggestion_and_posts_nothing(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter, forbidden: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv(semantic.FORCE_LEXICAL_ENV, "1")
    event = opened("issue")
    repo, issue = event["repository"]["full_name"], event["issue"]
    await seed(settings, repo, issue["title"], issue["body"])
    for delivery in ("d-1", "d-2"):  # a second delivery (a rerun) converges on the one record
        await enqueue(settings, "triage_duplicates", f"triage:{delivery}", delivery_id=delivery, event=event,
                      kind="issue")  # fmt: skip
        assert (await run_burst(settings)).jobs_failed == 0

    assert forbidden == [] and writes(api) == [] and github.bot_comments(issue["number"]) == []
    (record,) = await suggestions(settings)
    assert (record.repo, record.number, record.scope, record.kind) == (repo, issue["number"], TRIAGE_SCOPE,
                                                                       "suggestions")  # fmt: skip
    assert record.data["shown"] == [7] and record.data["label"] == "duplicate"
    scores = {c["number"]: c["score"] for c in record.data["candidates"]}
    assert scores[7] >= record.data["threshold"] > max(v for k, v in scores.items() if k != 7)
    assert "#7 |" in record.body  # the comment it would have posted
    runs_here = await runs(settings, repo, issue["number"])
    assert len(runs_here) == 2 and {run.mode for run in runs_here} == {"shadow"}
    (reason,) = await reasons(settings, runs_here[0].id)
    assert reason.startswith("shadow mode: would suggest #7 (") and reason.endswith("recorded, not posted")
