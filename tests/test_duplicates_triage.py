"""Duplicate triage on real SQLite with GitHub on respx: one comment, quiet below threshold, feedback."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from typing import Any

import cmarkgfm
import httpx
import pytest
import respx
from cmarkgfm.cmark import Options

from app.config.model import DuplicatesConfig
from app.constants import MARKER_DUPLICATES
from app.github.client import GitHubKitClient, installation_client
from app.github.protocol import IssueRecord, RepoId
from app.github.retrying import RetryPolicy
from app.observability.metrics import render
from app.settings import Settings
from jobs.duplicates import semantic, store
from jobs.duplicates.live import IndexCache
from jobs.duplicates.store import Sessions
from jobs.duplicates.triage import triage
from tests.github_mock import API, BOT_LOGIN, FakeGitHub
from tests.metrics_support import sample

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("lexical_only")]

REPO = RepoId("Codertocat", "Hello-World")
FAST = RetryPolicy(max_tries=2, backoff=0.01, max_rate_wait=0.5)
TOPICS = (
    "login page", "dark mode", "csv export", "search results", "email notifications", "password reset",
    "file upload", "user avatar", "api pagination", "docker image", "unicode filenames", "timezone handling",
    "markdown preview", "keyboard shortcuts", "mobile layout", "rate limiting", "webhook retries",
)  # fmt: skip
ORIGINAL = 40
SECOND = 42
QUERY = 50


@pytest.fixture
def github() -> FakeGitHub:
    return FakeGitHub()


@pytest.fixture
def api(github: FakeGitHub) -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        github.install(router)
        router.post(url__regex=rf"{API}/repos/{REPO.full_name}/issues/\d+/labels$", name="labels").mock(
            side_effect=lambda request: httpx.Response(
                200, json=[{"name": n, "color": "ededed"} for n in json.loads(request.content)["labels"]]
            )
        )
        yield router


def record(number: int, title: str, body: str, day: int) -> IssueRecord:
    return IssueRecord(
        number=number,
        title=title,
        body=body,
        state="open",
        is_pull_request=False,
        author="octocat",
        html_url=f"https://github.com/{REPO.full_name}/issues/{number}",
        created_at=f"2024-01-{day:02d}T00:00:00Z",
    )


async def seed(db: Sessions) -> None:
    """A small repository: unrelated issues, the original, a related one, and a new duplicate report."""
    records = [
        record(i, f"Problem with {t}", f"The {t} does not work as expected since the last release.", i)
        for i, t in enumerate(TOPICS, 1)
    ]
    records += [
        record(
            ORIGINAL,
            "Memory leak when uploading large CSV files",
            "Uploading a 2 GB CSV file makes the worker's memory grow until the OOM killer stops it. "
            "The heap dump shows CsvReader buffers retained.",
            20,
        ),
        record(SECOND, "CSV upload is slow for big files", "A 2 GB CSV upload takes ten minutes.", 21),
        record(
            QUERY,
            "Worker killed by OOM during a large CSV upload",
            "When I upload a big CSV (about 2 GB) the worker's memory keeps growing and the OOM killer ends "
            "it. CsvReader buffers are retained in the heap dump.",
            25,
        ),
    ]
    await store.upsert_items(db, REPO.full_name, records)


async def client(settings: Settings) -> GitHubKitClient:
    return await installation_client(settings, 42, REPO, {"issues": "write"}, policy=FAST)


async def run(
    gh: GitHubKitClient, db: Sessions, cache: IndexCache, config: DuplicatesConfig, asked: bool = False
) -> list[int]:
    result = await triage(gh, db, cache, REPO, QUERY, config, bot_login=BOT_LOGIN, asked=asked)
    return [s.number for s in result.shown]


async def test_comment_is_posted_once_and_updated_on_a_rerun(
    db: Sessions, settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    await seed(db)
    cache = IndexCache(db)
    gh = await client(settings)
    config = DuplicatesConfig(threshold=0.05, label="duplicate?")
    assert (await run(gh, db, cache, config))[0] == ORIGINAL
    assert github.created == 1 and api["labels"].call_count == 1
    (body,) = github.bot_comments(QUERY)
    assert body.startswith(MARKER_DUPLICATES)
    assert (
        f"[Memory leak when uploading large CSV files](https://github.com/{REPO.full_name}/issues/40)" in body
    )
    assert "| open issue |" in body and "/steward not-duplicate #40" in body

    assert (await run(gh, db, cache, config))[0] == ORIGINAL  # rerun, nothing changed: no edit either
    assert github.created == 1 and github.updated == 0

    edited = record(ORIGINAL, "Memory leak when uploading large CSV files (heap)", "", 20)
    edited.body = "Uploading a 2 GB CSV file: worker memory grows until the OOM killer. CsvReader buffers."
    await store.upsert_item(db, REPO.full_name, edited)
    await run(gh, db, cache, config)
    assert github.created == 1 and github.updated == 1
    (body,) = github.bot_comments(QUERY)
    assert "(heap)" in body
    assert "closed" not in body.lower().replace("never closes", "")


async def test_silent_below_the_threshold_unless_asked(
    db: Sessions, settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    await seed(db)
    cache = IndexCache(db)
    gh = await client(settings)
    strict = DuplicatesConfig(threshold=0.95, label="duplicate?")
    assert await run(gh, db, cache, strict) == []
    assert github.created == 0 and api["labels"].call_count == 0
    assert not api["create_comment"].called

    assert await run(gh, db, cache, strict, asked=True) == []
    (body,) = github.bot_comments(QUERY)
    assert "found no likely duplicates" in body and github.created == 1


async def test_not_duplicate_feedback_suppresses_the_suggestion_at_once(
    db: Sessions, settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    await seed(db)
    cache = IndexCache(db)
    gh = await client(settings)
    config = DuplicatesConfig(threshold=0.05)
    assert (await run(gh, db, cache, config))[0] == ORIGINAL

    await store.record_feedback(db, REPO.full_name, QUERY, ORIGINAL, duplicate=False, source="command")
    shown = await run(gh, db, cache, config)
    assert ORIGINAL not in shown
    (body,) = github.bot_comments(QUERY)  # the same comment, edited
    assert "#40" not in body and github.created == 1 and github.updated == 1
    assert await store.feedback_for(db, REPO.full_name, ORIGINAL) == {QUERY: False}


async def test_excluded_labels_and_known_duplicates_are_not_suggested(
    db: Sessions, settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    await seed(db)
    cache = IndexCache(db)
    gh = await client(settings)
    labelled = record(ORIGINAL, "Memory leak when uploading large CSV files", "CsvReader OOM 2 GB upload", 20)
    labelled.labels = ["wontfix"]
    await store.upsert_item(db, REPO.full_name, labelled)
    shown = await run(gh, db, cache, DuplicatesConfig(threshold=0.0, exclude_labels=["wontfix"]))
    assert ORIGINAL not in shown and shown

    await store.record_feedback(db, REPO.full_name, SECOND, 1, duplicate=True, source="comment")
    shown = await run(gh, db, cache, DuplicatesConfig(threshold=0.0))
    assert SECOND not in shown  # closed as a duplicate of #1: its original stands in for it


async def test_lexical_only_when_the_extra_is_missing(
    db: Sessions,
    settings: Settings,
    github: FakeGitHub,
    api: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(semantic.FORCE_LEXICAL_ENV)
    real = importlib.util.find_spec

    def missing(name: str, *args: Any) -> Any:
        return None if name in ("sentence_transformers", semantic.MODEL_PACKAGE) else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", missing)
    available, reason = semantic.embeddings_available()
    assert not available and "not installed" in reason and "lexical only" in reason
    await seed(db)
    row = await store.get_item(db, REPO.full_name, QUERY)
    assert row is not None and row.embedding is None
    assert (await run(await client(settings), db, IndexCache(db), DuplicatesConfig(threshold=0.05)))[
        0
    ] == ORIGINAL


async def test_not_duplicate_command_records_and_refreshes(
    db: Sessions, settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    from app.commands.context import CommandContext
    from app.config.model import RepoConfig
    from jobs.duplicates.commands import duplicates_command, not_duplicate_command

    await seed(db)
    config = RepoConfig.model_validate({"workflows": {"duplicates": {"threshold": 0.05}}})
    gh = await client(settings)

    def context(args: str) -> CommandContext:
        return CommandContext(
            gh, REPO, QUERY, False, "maintainer", args, config, settings=settings, sessions=db
        )

    assert await duplicates_command(context("")) is None
    (body,) = github.bot_comments(QUERY)
    assert "#40" in body
    reply = await not_duplicate_command(context("#40"))
    assert reply is not None and "#40 is not a duplicate" in reply
    (body,) = github.bot_comments(QUERY)
    assert "#40" not in body
    assert await store.feedback_for(db, REPO.full_name, QUERY) == {ORIGINAL: False}
    usage = await not_duplicate_command(context("please"))
    assert usage is not None and usage.startswith("Usage:")


async def test_opened_webhook_job_indexes_and_comments(
    db: Sessions, settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    from app.events import IssuesEvent
    from jobs.duplicates.jobs import triage_item
    from tests.conftest import load_payload

    await seed(db)
    await store.delete_item(db, REPO.full_name, QUERY)  # #60 below repeats #40 alone
    github.files[".github/steward.yml"] = "workflows:\n  duplicates:\n    threshold: 0.25\n"
    api.get(f"/repos/{REPO.full_name}", name="repo").mock(
        return_value=httpx.Response(200, json={"full_name": REPO.full_name, "default_branch": "main"})
    )
    payload = load_payload("issues", "opened")
    payload["installation"] = {"id": 42}
    payload["issue"].update(
        number=60,
        title="Memory leak when uploading large CSV files",  # reposted word for word
        body="Uploading a 2 GB CSV file makes the worker's memory grow until the OOM killer stops it. "
        "The heap dump shows CsvReader buffers retained.",
        created_at="2024-03-01T00:00:00Z",
    )
    event = IssuesEvent.model_validate(payload).model_dump(mode="json")  # as app/handlers enqueues it
    ctx: dict[str, Any] = {"settings": settings, "sessions": db, "job_try": 1}
    outcome = await triage_item(ctx, "d-1", event, "issue")
    assert outcome.startswith("suggested #40"), outcome
    row = await store.get_item(db, REPO.full_name, 60)
    assert row is not None and row.kind == "issue" and row.title.startswith("Memory leak")
    assert len(github.bot_comments(60)) == 1


async def test_an_edit_updates_the_comment_in_place_and_starts_none(
    db: Sessions, settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    from app.events import IssuesEvent
    from jobs.duplicates.jobs import index_event
    from jobs.duplicates.record import record_triage
    from tests.conftest import load_payload

    await seed(db)
    github.files[".github/steward.yml"] = "workflows:\n  duplicates:\n    threshold: 0.3\n"
    api.get(f"/repos/{REPO.full_name}", name="repo").mock(
        return_value=httpx.Response(200, json={"full_name": REPO.full_name, "default_branch": "main"})
    )
    ctx: dict[str, Any] = {"settings": settings, "sessions": db, "job_try": 1}
    payload = load_payload("issues", "edited")
    payload["installation"] = {"id": 42}
    query = await store.get_item(db, REPO.full_name, QUERY)
    assert query is not None
    payload["issue"].update(
        number=QUERY, title=query.title, body=query.body, created_at="2024-01-25T00:00:00Z"
    )

    def edited() -> dict[str, Any]:
        return IssuesEvent.model_validate(payload).model_dump(mode="json")  # as app/handlers enqueues it

    outcome = await index_event(ctx, "d-1", "issues", edited())
    assert outcome.endswith("never triaged, so no comment to update")  # an edit never starts a comment
    assert github.bot_comments(QUERY) == [] and github.token_bodies == []  # nor mints a token for nothing

    # Triaged (as the job on open does: comment, then the ledger record), an edit finds no comment yet...
    await record_triage(db, REPO.full_name, QUERY, "d-0", 42, "no candidate passed")
    outcome = await index_event(ctx, "d-1b", "issues", edited())
    assert outcome.endswith("no duplicates comment to update") and github.bot_comments(QUERY) == []
    assert ORIGINAL in await run(await client(settings), db, IndexCache(db), DuplicatesConfig(threshold=0.3))
    payload["issue"].update(
        title="Icelandic translation missing", body="The settings page shows English strings."
    )
    outcome = await index_event(ctx, "d-2", "issues", edited())
    assert "comment updated: no candidate passed" in outcome, outcome
    (body,) = github.bot_comments(QUERY)
    assert "no longer finds likely duplicates" in body and github.created == 1 and github.updated == 1


async def test_at_the_hourly_comment_limit_triage_posts_nothing_new_and_says_why_in_the_ledger(
    db: Sessions, settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    from redis.asyncio import Redis

    from app.events import IssuesEvent
    from jobs.comment_count import comments_this_hour
    from jobs.duplicates.jobs import triage_item
    from jobs.ledger import Ledger
    from tests.conftest import load_payload

    await seed(db)
    github.files[".github/steward.yml"] = (
        "noise:\n  comments_per_hour: 1\nworkflows:\n  duplicates:\n    threshold: 0.25\n"
    )
    api.get(f"/repos/{REPO.full_name}", name="repo").mock(
        return_value=httpx.Response(200, json={"full_name": REPO.full_name, "default_branch": "main"})
    )
    original = await store.get_item(db, REPO.full_name, ORIGINAL)
    assert original is not None

    def opened(number: int) -> dict[str, Any]:
        payload = load_payload("issues", "opened")
        payload["installation"] = {"id": 42}
        payload["issue"].update(
            number=number, title=original.title, body=original.body, created_at="2024-03-01T00:00:00Z"
        )
        return IssuesEvent.model_validate(payload).model_dump(mode="json")

    redis = Redis.from_url(settings.redis_url)
    try:
        ctx: dict[str, Any] = {"settings": settings, "sessions": db, "job_try": 1, "redis": redis}
        first = await triage_item(ctx, "d-60", opened(60), "issue")
        assert first.startswith("suggested #40"), first
        assert len(github.bot_comments(60)) == 1
        assert await comments_this_hour(redis, REPO.full_name) == 1  # triage's comment counts
        held = await triage_item(ctx, "d-61", opened(61), "issue")
        assert await comments_this_hour(redis, REPO.full_name) == 1
    finally:
        await redis.aclose()
    assert held.startswith("held #40"), held
    assert "noise limit of comments an hour (1 of 1); it resets at" in held
    assert github.bot_comments(61) == [] and github.created == 1
    (run,) = await Ledger(db).runs_for(REPO.full_name, 61)
    trace = await Ledger(db).trace(run.id)
    assert trace.transitions[-1].reason == held


async def test_a_hostile_title_renders_as_text_inside_the_one_link_to_its_issue(
    db: Sessions, settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    """Titles go inside `[...]`: one that closes the bracket must not make a second link, ping or image."""
    await seed(db)
    hostile = (
        "Memory leak when uploading large CSV files crash on start](https://attacker.example/fix) see "
        "[details @alice #12 <img src=https://attacker.example/p.png> | x |"
    )
    await store.upsert_item(
        db,
        REPO.full_name,
        record(
            ORIGINAL,
            hostile,
            "Uploading a 2 GB CSV file makes the worker's memory grow until the OOM killer stops it. "
            "The heap dump shows CsvReader buffers retained.",
            20,
        ),
    )
    gh = await client(settings)
    shown = await run(gh, db, IndexCache(db), DuplicatesConfig(threshold=0.05), asked=True)
    (body,) = github.bot_comments(QUERY)
    rendered = cmarkgfm.markdown_to_html_with_extensions(
        body, options=Options.CMARK_OPT_UNSAFE, extensions=["autolink", "table", "tagfilter"]
    )
    links = re.findall(r'<a href="([^"]*)"', rendered)
    assert links == [f"https://github.com/{REPO.full_name}/issues/{n}" for n in shown]
    assert "attacker.example/fix" in rendered and "<img" not in rendered
    words = re.sub(r"<code>.*?</code>", "", rendered)
    assert "<code>@alice</code>" in rendered and "@alice" not in words and "#12" not in words
    assert rendered.count("<tr>") == len(shown) + 1


async def test_an_opened_pull_request_stores_its_files_branch_and_author_type_and_says_why(
    db: Sessions, settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    from app.events import PullRequestEvent
    from jobs.duplicates.jobs import triage_item
    from tests.conftest import load_payload

    await seed(db)
    original = IssueRecord(
        number=70,
        title="Return 400 for an upload without a body",
        body="The upload handler crashed on an empty request; it answers 400 now.",
        state="open",
        is_pull_request=True,
        author="carol",
        author_type="user",
        base_branch="main",
        files=["app/upload/handler.py", "tests/test_upload.py"],
        created_at="2024-02-01T00:00:00Z",
    )
    await store.upsert_items(db, REPO.full_name, [original])
    github.files[".github/steward.yml"] = "workflows:\n  duplicates:\n    on_pull_requests: true\n"
    api.get(f"/repos/{REPO.full_name}", name="repo").mock(
        return_value=httpx.Response(200, json={"full_name": REPO.full_name, "default_branch": "main"})
    )
    github.pull_files[71] = ["app/upload/handler.py", "tests/test_upload.py"]
    payload = load_payload("pull_request", "opened")
    payload["installation"] = {"id": 42}
    payload["repository"]["full_name"] = REPO.full_name
    payload["pull_request"].update(
        number=71,
        title="Empty upload crashes the handler",
        body="Sending no payload to the upload endpoint raises; reply with a bad request.",
        created_at="2024-03-01T00:00:00Z",
        user={"login": "dave", "type": "User"},
    )
    payload["pull_request"]["base"]["ref"] = "main"
    event = PullRequestEvent.model_validate(payload).model_dump(mode="json")
    ctx: dict[str, Any] = {"settings": settings, "sessions": db, "job_try": 1}
    outcome = await triage_item(ctx, "d-pr", event, "pull_request")
    assert api["pull_files"].called
    row = await store.get_item(db, REPO.full_name, 71)
    assert row is not None and row.kind == "pull" and row.author_type == "user" and row.base_branch == "main"
    assert json.loads(row.files or "[]") == ["app/upload/handler.py", "tests/test_upload.py"]
    assert outcome.startswith("suggested #70"), (
        outcome
    )  # the shared files carry it past the default threshold
    (body,) = github.bot_comments(71)
    assert "- #70: changes the same files `app/upload/handler.py`, `tests/test_upload.py`" in body


async def test_each_decision_is_counted_silent_answered_and_commented(
    db: Sessions, settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    await seed(db)
    cache = IndexCache(db)
    gh = await client(settings)
    before = render().decode()
    await run(gh, db, cache, DuplicatesConfig(threshold=0.95))  # nothing passes, nobody asked: silent
    await run(gh, db, cache, DuplicatesConfig(threshold=0.95), asked=True)  # asked: "found none"
    await run(gh, db, cache, DuplicatesConfig(threshold=0.05))  # a suggestion: the comment is updated
    after = render().decode()
    name = "steward_duplicate_decisions_total"
    grew = {
        decision: sample(after, name, decision=decision) - sample(before, name, decision=decision)
        for decision in ("silent", "answered", "commented", "held")
    }
    assert grew == {"silent": 1, "answered": 1, "commented": 1, "held": 0}
