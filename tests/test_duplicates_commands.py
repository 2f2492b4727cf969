"""`/steward duplicates` and `/steward not-duplicate #N` through handle_comment on a real worker."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import respx

from app.constants import MARKER_DUPLICATES, ROLE_NOT_LOOKED_UP
from app.github.protocol import IssueRecord
from app.settings import Settings
from jobs.db import make_engine, migrate, sessions
from jobs.duplicates import store
from jobs.ledger import Ledger
from tests.conftest import load_payload
from tests.github_mock import API, FakeGitHub
from tests.worker_support import enqueue, run_burst

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("lexical_only")]

REPO = "Codertocat/Hello-World"
ISSUE = 1  # the issue the real issue_comment example is on
ORIGINAL = 7
TOPICS = ("dark mode", "csv export", "email notifications", "password reset", "file upload", "avatar")


@pytest.fixture
def github() -> FakeGitHub:
    fake = FakeGitHub()
    fake.permissions["Codertocat"] = "triage"  # the real example comment's author
    fake.files[".github/steward.yml"] = "workflows:\n  duplicates:\n    threshold: 0.2\n"
    return fake


@pytest.fixture
def api(github: FakeGitHub) -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        github.install(router)
        yield router


def record(number: int, title: str, body: str, created: str) -> IssueRecord:
    return IssueRecord(
        number=number,
        title=title,
        body=body,
        state="open",
        is_pull_request=False,
        author="octocat",
        html_url=f"https://github.com/{REPO}/issues/{number}",
        created_at=created,
    )


async def seed(settings: Settings) -> None:
    """Unrelated earlier issues, an earlier report of the same typo, and issue #1 itself."""
    issue = load_payload("issues", "opened")["issue"]
    records = [
        record(
            n,
            f"Problem with {t}",
            f"The {t} does not work since the last release.",
            f"2019-01-0{n}T00:00:00Z",
        )
        for n, t in enumerate(TOPICS, 1)
        if n != ORIGINAL
    ]
    body = "It looks like you accidentally spelled 'commit' with two 't's in the README file."
    records.append(record(ORIGINAL, "Spelling error in the README", body, "2019-02-01T00:00:00Z"))
    records.append(record(ISSUE, issue["title"], body, issue["created_at"]))  # reported again, word for word
    engine = make_engine(settings.db_url)
    try:
        await migrate(engine)
        await store.upsert_items(sessions(engine), REPO, records)
    finally:
        await engine.dispose()


async def say(settings: Settings, body: str, comment_id: int) -> None:
    event = copy.deepcopy(load_payload("issue_comment", "created.with-installation"))
    event["comment"].update(body=body, id=comment_id)
    await enqueue(
        settings, "handle_comment", f"comment:1:{comment_id}", delivery_id=f"d-{comment_id}", event=event
    )
    worker = await run_burst(settings)
    assert worker.jobs_failed == 0


def marked(github: FakeGitHub) -> list[str]:
    return [body for body in github.bot_comments(ISSUE) if body.startswith(MARKER_DUPLICATES)]


async def feedback(settings: Settings) -> dict[int, bool]:
    engine = make_engine(settings.db_url)
    try:
        return await store.feedback_for(sessions(engine), REPO, ISSUE)
    finally:
        await engine.dispose()


async def triage_runs(settings: Settings) -> list[tuple[str, str, str, str]]:
    """The ledger's duplicates runs on the issue: (event, actor, actor's role, state), oldest first."""
    engine = make_engine(settings.db_url)
    try:
        runs = await Ledger(sessions(engine)).runs_for(REPO, ISSUE)
    finally:
        await engine.dispose()
    return [
        (r.event, r.actor, r.actor_role, r.state.value) for r in reversed(runs) if r.workflow == "duplicates"
    ]


async def test_duplicates_command_suggests_then_not_duplicate_removes_it(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    await seed(settings)
    await say(settings, "/steward duplicates", 101)
    [comment] = marked(github)
    assert f"#{ORIGINAL} | [Spelling error in the README]" in comment
    assert "not-duplicate" in comment
    await say(settings, "/steward duplicates", 102)  # a rerun updates the same comment
    assert marked(github) == [comment] and github.created == 1
    # Each request is in the ledger (so `/steward status` shows it and an edit knows a comment may exist).
    assert await triage_runs(settings) == [("command", "Codertocat", "triage", "closed")] * 2

    await say(settings, f"/steward not-duplicate #{ORIGINAL}", 103)
    [updated] = marked(github)
    assert f"#{ORIGINAL} |" not in updated  # suggestions update at once
    assert any(f"#{ORIGINAL} is not a duplicate" in body for body in github.bot_comments(ISSUE))
    assert await feedback(settings) == {ORIGINAL: False}


async def test_a_command_open_to_anyone_records_that_the_role_was_not_looked_up(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    github.files[".github/steward.yml"] += "commands:\n  duplicates:\n    permission: none\n"
    await seed(settings)
    await say(settings, "/steward duplicates", 105)
    assert not api["permission"].called  # anyone may: GitHub is not asked, and the ledger says so
    assert await triage_runs(settings) == [("command", "Codertocat", ROLE_NOT_LOOKED_UP, "closed")]


async def test_not_duplicate_without_a_number_gets_the_usage(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    await seed(settings)
    await say(settings, "/steward not-duplicate please", 104)
    replies: list[Any] = github.bot_comments(ISSUE)
    assert len(replies) == 1 and "Usage: `/steward not-duplicate #N`" in replies[0]
    assert await feedback(settings) == {}
