"""The live duplicate index on real databases, GitHub mocked with respx: webhooks, backfill, feedback."""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import respx
from sqlalchemy import select

from app.github.client import GitHubKitClient, installation_client
from app.github.errors import RateLimited
from app.github.protocol import IssueRecord, RepoId
from app.github.retrying import RetryPolicy
from app.settings import Settings
from jobs.db import make_engine, migrate, sessions
from jobs.duplicates import backfill as backfill_mod
from jobs.duplicates import store
from jobs.duplicates.events import apply_event, duplicate_target
from jobs.duplicates.live import _COLUMNS, IndexCache, build_segment
from jobs.duplicates.store import Sessions
from jobs.duplicates.text import tokenize
from jobs.models.issue_index import IssueIndexRow
from tests.conftest import load_payload
from tests.github_mock import API, FakeGitHub
from tests.postgres import db_url  # noqa: F401  (the fixture, parametrized over SQLite and PostgreSQL)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("lexical_only")]

REPO = RepoId("Codertocat", "Hello-World")
FAST = RetryPolicy(max_tries=2, backoff=0.01, max_rate_wait=0.5)


@pytest.fixture
def github() -> FakeGitHub:
    return FakeGitHub()


@pytest.fixture
def api(github: FakeGitHub) -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        github.install(router)
        yield router


async def client(settings: Settings) -> GitHubKitClient:
    return await installation_client(settings, 42, REPO, {"issues": "write"}, policy=FAST)


def issue_json(number: int, title: str, body: str = "", state: str = "open", **extra: Any) -> dict[str, Any]:
    """An issue as GitHub's REST API lists it."""
    return {
        "url": f"{API}/repos/{REPO.full_name}/issues/{number}",
        "html_url": f"https://github.com/{REPO.full_name}/issues/{number}",
        "id": 1000 + number,
        "number": number,
        "title": title,
        "body": body,
        "state": state,
        "state_reason": extra.pop("state_reason", None),
        "user": {"login": "octocat", "id": 1, "type": "User"},
        "labels": [{"id": 1, "name": name, "color": "ededed"} for name in extra.pop("labels", [])],
        "created_at": f"2024-01-01T00:{number // 60:02d}:{number % 60:02d}Z",
        "updated_at": "2024-02-01T00:00:00Z",
        "closed_at": None if state == "open" else "2024-02-01T00:00:00Z",
        **extra,
    }


async def test_each_webhook_keeps_the_index_current(db: Sessions) -> None:
    repo = REPO.full_name
    opened = load_payload("issues", "opened")
    assert (await apply_event(db, None, "issues", opened)).startswith("indexed #1")
    row = await store.get_item(db, repo, 1)
    assert row is not None and row.title == "Spelling error in the README file" and row.state == "open"
    assert "spell" in row.tokens.split() and row.embedding is None  # lexical only: no vector

    edited = load_payload("issues", "edited")
    edited["issue"]["title"] = "Typo in the README heading"
    await apply_event(db, None, "issues", edited)
    row = await store.get_item(db, repo, 1)
    assert row is not None and row.title == "Typo in the README heading"

    closed = copy.deepcopy(opened)
    closed["action"] = "closed"
    closed["issue"].update(state="closed", state_reason="completed", closed_at="2019-05-16T15:00:00Z")
    await apply_event(db, None, "issues", closed)
    row = await store.get_item(db, repo, 1)
    assert row is not None and row.state == "closed" and row.closed_at is not None

    await apply_event(db, None, "issues", load_payload("issues", "reopened"))
    row = await store.get_item(db, repo, 1)
    assert row is not None and row.state == "open"

    assert await apply_event(db, None, "issues", load_payload("issues", "deleted")) == "deleted #1"
    assert await store.get_item(db, repo, 1) is None

    transferred = load_payload("issues", "transferred")  # from octo-org/octo-repo to Codertocat/Hello-World
    await store.upsert_item(db, "octo-org/octo-repo", IssueRecord(1, "moved", "", "open", False, "octocat"))
    await apply_event(db, None, "issues", transferred)
    assert await store.get_item(db, "octo-org/octo-repo", 1) is None
    assert await store.get_item(db, repo, 1) is not None


async def test_pull_requests_are_indexed_as_pulls(db: Sessions) -> None:
    payload = load_payload("pull_request", "opened")
    await apply_event(db, None, "pull_request", payload)
    number = payload["pull_request"]["number"]
    row = await store.get_item(db, payload["repository"]["full_name"], number)
    assert row is not None and row.kind == "pull"


def test_duplicate_of_lines_are_read_like_github_does() -> None:
    assert duplicate_target("Duplicate of #12") == 12
    assert duplicate_target("thanks!\n  duplicate of #7 \nand duplicate of #9") == 7
    assert duplicate_target("Duplicate of #7\nDuplicate of #9") == 9
    assert duplicate_target("not a Duplicate of #12 in a sentence") is None
    assert duplicate_target("") is None


async def test_a_duplicate_close_adds_a_positive_pair(
    db: Sessions, settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    repo = REPO.full_name
    await store.upsert_item(db, repo, IssueRecord(3, "Crash on start", "", "open", False, "octocat"))
    github.comments[5] = [
        {"id": 1, "body": "I see this too", "user": {"login": "octocat"}, "html_url": ""},
        {"id": 2, "body": "Duplicate of #3", "user": {"login": "maintainer"}, "html_url": ""},
    ]
    closed = load_payload("issues", "opened")
    closed["action"] = "closed"
    closed["issue"].update(number=5, state="closed", state_reason="duplicate", title="App crashes at start")
    outcome = await apply_event(db, await client(settings), "issues", closed)
    assert outcome == "indexed #5; closed as duplicate of #3"
    assert await store.positive_pairs(db, repo) == [(repo, 5, 3)]
    row = await store.get_item(db, repo, 5)
    assert row is not None and row.duplicate_of == 3

    comment = load_payload("issue_comment", "created")
    comment["issue"].update(number=8, state="closed")
    comment["comment"]["body"] = "Duplicate of #3"
    assert await apply_event(db, None, "issue_comment", comment) == "#8 linked as duplicate of #3"
    assert sorted(await store.positive_pairs(db, repo)) == [(repo, 5, 3), (repo, 8, 3)]
    comment["issue"]["state"] = "open"
    comment["issue"]["number"] = 9
    assert (await apply_event(db, None, "issue_comment", comment)).startswith("ignored")


def _rate_limited() -> httpx.Response:
    return httpx.Response(
        403,
        json={"message": "API rate limit exceeded for installation ID 42."},
        headers={
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": "5000",
            "x-ratelimit-reset": str(int(time.time() + 3600)),
            "x-ratelimit-resource": "core",
        },
    )


async def test_backfill_pages_through_and_resumes_after_an_interruption(
    db: Sessions, settings: Settings, api: respx.MockRouter
) -> None:
    issues = [issue_json(n, f"Issue number {n}", f"body of issue {n}") for n in range(1, 251)]
    pages_asked: list[int] = []
    fail_page = {2: [_rate_limited()]}

    def list_issues(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        per_page = int(request.url.params["per_page"])
        assert request.url.params["state"] == "all" and request.url.params["direction"] == "asc"
        pages_asked.append(page)
        if fail_page.get(page):
            return fail_page[page].pop(0)
        chunk = issues[(page - 1) * per_page : page * per_page]
        last = (len(issues) + per_page - 1) // per_page
        headers = {}
        if page < last:
            url = f"{API}/repositories/1296269/issues?state=all&per_page={per_page}&page={page + 1}"
            headers["link"] = f'<{url}>; rel="next"'
        return httpx.Response(200, json=chunk, headers=headers)

    api.get(f"/repos/{REPO.full_name}/issues", name="issues").mock(side_effect=list_issues)
    with pytest.raises(RateLimited):
        await backfill_mod.backfill(await client(settings), db, REPO)
    assert pages_asked == [1, 2]
    assert await store.get_item(db, REPO.full_name, 100) is not None
    assert await store.get_item(db, REPO.full_name, 101) is None

    # A new process (new client, same database) resumes at page 2, not page 1.
    progress = await backfill_mod.backfill(await client(settings), db, REPO)
    assert pages_asked == [1, 2, 2, 3]
    assert progress.done and progress.items == 250
    assert await store.get_item(db, REPO.full_name, 250) is not None
    again = await backfill_mod.backfill(await client(settings), db, REPO)
    assert again.done and pages_asked == [1, 2, 2, 3]  # finished: nothing fetched

    await backfill_mod.restart(db, REPO.full_name)
    bounded = await backfill_mod.backfill(await client(settings), db, REPO, max_pages=1)
    assert not bounded.done and bounded.next_page == 2 and pages_asked[-1] == 1
    # Out of time after a page (embedding makes pages slow): it stops there, to be re-queued, never mid-page.
    timed = await backfill_mod.backfill(await client(settings), db, REPO, max_seconds=0)
    assert not timed.done and timed.next_page == 3 and pages_asked[-1] == 2


async def test_snapshots_follow_additions_edits_and_deletions(
    db: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("jobs.duplicates.live.REVISION_SLACK_US", 0)
    trims: list[bool] = []
    monkeypatch.setattr("jobs.heap.trim", lambda: trims.append(True) or True)
    repo = REPO.full_name
    records = [IssueRecord(n, f"issue {n} about topic{n}", "", "open", False, "a") for n in range(1, 6)]
    await store.upsert_items(db, repo, records)
    cache = IndexCache(db)
    snap = await cache.snapshot(repo, hybrid=False)
    assert sorted(snap.base.numbers.tolist()) == [1, 2, 3, 4, 5] and snap.delta is None
    assert len(trims) == 1  # a build hands its free pages back (jobs/heap.py)

    await store.upsert_item(db, repo, IssueRecord(6, "issue six", "", "open", False, "a"))
    await store.upsert_item(db, repo, IssueRecord(2, "issue two renamed", "", "open", False, "a"))
    await store.delete_item(db, repo, 3)
    snap = await cache.snapshot(repo, hybrid=False)
    assert snap.delta is not None and sorted(snap.delta.numbers.tolist()) == [2, 6]
    alive = {int(n) for n, a in zip(snap.base.numbers, snap.base.alive, strict=True) if a}
    assert alive == {1, 4, 5}  # 2 lives in the delta now, 3 is gone

    monkeypatch.setattr("jobs.duplicates.live.MAX_DELTA", 0)
    await store.upsert_item(db, repo, IssueRecord(7, "issue seven", "", "open", False, "a"))
    snap = await cache.snapshot(repo, hybrid=False)
    assert snap.delta is None and sorted(snap.base.numbers.tolist()) == [1, 2, 4, 5, 6, 7]
    assert len(trims) == 2  # the refresh in between built nothing


async def test_index_event_job_applies_a_delivery(db: Sessions, settings: Settings) -> None:
    from jobs.duplicates.jobs import index_event

    ctx: dict[str, Any] = {"settings": settings, "sessions": db, "job_try": 1}
    outcome = await index_event(ctx, "d-1", "issues", load_payload("issues", "opened"))
    assert outcome.startswith("indexed #1")
    assert await store.get_item(db, REPO.full_name, 1) is not None
    assert await index_event(ctx, "d-2", "issues", load_payload("issues", "deleted")) == "deleted #1"
    assert await store.get_item(db, REPO.full_name, 1) is None


@pytest.fixture
async def any_db(db_url: str) -> AsyncIterator[Sessions]:  # noqa: F811
    """A migrated index database: SQLite, then PostgreSQL (it streams through a server-side cursor)."""
    engine = make_engine(db_url)
    await migrate(engine)
    try:
        yield sessions(engine)
    finally:
        await engine.dispose()


async def test_a_snapshot_streamed_in_small_batches_equals_one_built_at_once(
    any_db: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The base snapshot reads the table in batches, so memory stays flat for a large repository."""
    repo = REPO.full_name
    titles = [
        "crash on upload",
        "upload fails with big files",
        "docs typo",
        "crash when saving",
        "slow upload",
    ]
    records = [IssueRecord(n, titles[n % 5], f"body {n} upload", "open", False, "a") for n in range(1, 12)]
    await store.upsert_items(any_db, repo, records)
    monkeypatch.setattr("jobs.duplicates.live.BUILD_BATCH", 3)  # 11 rows: four batches
    streamed = (await IndexCache(any_db).snapshot(repo, hybrid=False)).base
    async with any_db() as session:
        query = select(*_COLUMNS).where(IssueIndexRow.repo == repo).order_by(IssueIndexRow.id)
        at_once = build_segment([tuple(r) for r in await session.execute(query)], hybrid=False)
    assert streamed.numbers.tolist() == at_once.numbers.tolist() == list(range(1, 12))
    assert streamed.corpus.size == 11 and streamed.revisions == at_once.revisions
    pool = np.ones(11, dtype=np.bool_)
    words = tokenize("upload crash", "big files")
    scores = streamed.corpus.fused_scores(words, None, pool)
    assert np.array_equal(scores, at_once.corpus.fused_scores(words, None, pool)) and scores.max() > 0


def test_a_hybrid_segment_keeps_each_rows_vector_and_zeroes_missing_ones() -> None:
    """Vectors are stored as float16 blobs; a row without one (or with a bad one) counts as orthogonal."""
    from datetime import UTC, datetime

    import numpy as np

    from jobs.duplicates import semantic
    from jobs.duplicates.live import SegmentBuilder

    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((4, semantic.EMBEDDING_DIM)).astype(np.float32)
    blobs: list[bytes | None] = [semantic.to_blob(v) for v in vectors]
    blobs[1], blobs[3] = None, b"short"
    when = datetime(2024, 1, 1, tzinfo=UTC)
    builder = SegmentBuilder(hybrid=True)
    builder.add([(i, 10 + i, when, "crash upload", blobs[i], None, 1) for i in range(2)])
    builder.add([(i, 10 + i, when, "crash upload", blobs[i], 3 if i == 2 else None, 1) for i in range(2, 4)])
    segment = builder.finish()
    held = segment.corpus.vectors
    assert held is not None and held.shape == (4, semantic.EMBEDDING_DIM) and held.dtype == np.float32
    assert np.allclose(held[0], vectors[0], atol=1e-2) and np.allclose(held[2], vectors[2], atol=1e-2)
    assert not held[1].any() and not held[3].any()
    assert segment.numbers.tolist() == [10, 11, 12, 13] and segment.duplicate_of.tolist() == [0, 0, 3, 0]


async def test_backfill_fetches_a_bounded_number_of_pull_requests_files(
    db: Sessions, settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    pull = {"url": "", "html_url": "", "diff_url": "", "patch_url": "", "merged_at": None}
    issues = [issue_json(n, f"Item {n}", "text", pull_request=dict(pull)) for n in range(1, 31)]
    issues[0] = issue_json(1, "An issue, not a pull request")
    github.pull_files = {n: [f"src/mod{n}.py", "docs/index.md"] for n in range(1, 31)}
    github.pull_files[3] = []
    api.get(f"/repos/{REPO.full_name}/issues", name="issues").mock(
        return_value=httpx.Response(200, json=issues)
    )
    gone = f"{API}/repos/{REPO.full_name}/pulls/2/files"  # the first asked
    github.fail_next["pull_files"] = [httpx.Response(404, json={"message": "Not Found", "url": gone})]
    progress = await backfill_mod.backfill(await client(settings), db, REPO)
    assert progress.done and progress.items == 30
    asked = [int(c.request.url.path.split("/")[-2]) for c in api["pull_files"].calls]
    assert asked == list(range(2, 2 + backfill_mod.PULLS_WITH_FILES_PER_PAGE))  # the issue is not asked
    files = {n: (await store.get_item(db, REPO.full_name, n)).files for n in (1, 2, 3, 4, 11, 12)}  # type: ignore[union-attr]
    assert files[1] is None and files[2] is None and files[3] == "[]"  # an issue; refused; no files
    assert files[4] == '["src/mod4.py", "docs/index.md"]' and files[11] is not None
    assert files[12] is None  # past the bound: unknown, never guessed
