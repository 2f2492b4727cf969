"""What a revision reads from GitHub: reviews, review comments and commits through the real githubkit adapter
(pages followed), and which of them it keeps; the agent's per-comment answers read back. respx serves items
shaped like the real pull_request_review and pull_request_review_comment examples."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from app.github.client import installation_client
from app.github.protocol import RepoId
from app.github.retrying import RetryPolicy
from app.settings import Settings
from jobs.runs.revision.agent import reported
from jobs.runs.revision.reviews import MAX_NOTES, pushed_by_people, review_notes
from tests.github_mock import API, FakeGitHub
from tests.revision_fixtures import PR, review_comment_item, review_item

pytestmark = pytest.mark.anyio
REPO = RepoId("Codertocat", "Hello-World")
FAST = RetryPolicy(max_tries=1, backoff=0.01, max_rate_wait=0.5)
BOT = "steward[bot]"


def paged(items: list[dict[str, object]]) -> object:
    """GitHub's pagination: `per_page` items a page and a `Link: rel="next"` while there are more."""

    def respond(request: httpx.Request) -> httpx.Response:
        per_page = int(request.url.params.get("per_page", "30"))
        page = int(request.url.params.get("page", "1"))
        headers = {}
        if page * per_page < len(items):
            nxt = request.url.copy_merge_params({"page": str(page + 1), "per_page": str(per_page)})
            headers["link"] = f'<{nxt}>; rel="next"'
        return httpx.Response(200, json=items[(page - 1) * per_page : page * per_page], headers=headers)

    return respond


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        FakeGitHub().install(router)
        yield router


async def test_people_s_reviews_with_a_body_and_line_comments_are_read_oldest_first_across_pages(
    settings: Settings, api: respx.MockRouter
) -> None:
    reviews = [
        review_item(1, "rita", "changes_requested", "Fix the wording.", "2026-11-21T10:00:00Z"),
        review_item(2, "ada", "approved", "", "2026-11-21T11:00:00Z"),  # no body: nothing to address
        review_item(3, "bob", "dismissed", "old news", "2026-11-21T12:00:00Z"),
        review_item(4, BOT, "commented", "Steward's own", "2026-11-21T13:00:00Z"),
    ]
    start = datetime(2026, 11, 22, 10, tzinfo=UTC)
    times = [(start + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(150)]
    comments = [  # two pages of 100
        review_comment_item(100 + i, "rita", "docs/usage.md", i + 1, f"line note {i}", at)
        for i, at in enumerate(times)
    ]
    api.get(url__regex=rf"{API}/repos/{REPO.full_name}/pulls/{PR}/reviews").mock(side_effect=paged(reviews))
    route = api.get(url__regex=rf"{API}/repos/{REPO.full_name}/pulls/{PR}/comments").mock(
        side_effect=paged(comments)
    )
    gh = await installation_client(settings, 1, REPO, {"pull_requests": "read"}, policy=FAST)
    notes = await review_notes(gh, REPO, PR, BOT)
    assert route.call_count == 2
    assert len(notes) == MAX_NOTES and notes[-1].id == "comment-249" and notes[-1].line == 150
    assert "review-1" not in {n.id for n in notes}, "the newest win once past the bound"

    later = await review_notes(gh, REPO, PR, BOT, since=times[147])  # a revision after the one at [147]
    assert [n.id for n in later] == ["comment-248", "comment-249"]

    comments[30:] = []
    both = await review_notes(gh, REPO, PR, BOT)
    assert len(both) == MAX_NOTES and both[0].id == "comment-100", "only the newest 30, oldest first"
    assert "review-1" not in {n.id for n in both}
    comments[1:] = []
    only = await review_notes(gh, REPO, PR, BOT)
    kinds = [(n.id, n.kind, n.state, n.author, n.path) for n in only]
    assert kinds == [("review-1", "review", "changes_requested", "rita", ""),
                     ("comment-100", "comment", "", "rita", "docs/usage.md")]  # fmt: skip


async def test_commits_by_people_are_told_apart_from_steward_s(
    settings: Settings, api: respx.MockRouter
) -> None:
    def commit(sha: str, login: str | None, name: str, message: str) -> dict[str, object]:
        who = {"login": login, "type": "Bot" if login == BOT else "User"} if login else None
        return {"sha": sha, "commit": {"author": {"name": name}, "message": message}, "author": who}

    items = [
        commit("a" * 40, BOT, BOT, "docs: update\n\nSteward-Run: r-1234567890\n"),
        commit("b" * 40, "devon", "Devon", "fix a typo"),
        commit("c" * 40, None, "Someone Unlinked", "tweak"),
        commit("d" * 40, "mallory", "Mallory", "looks like Steward's\n\nSteward-Run: r-1234567890\n"),
    ]
    api.get(url__regex=rf"{API}/repos/{REPO.full_name}/pulls/{PR}/commits").mock(side_effect=paged(items))
    gh = await installation_client(settings, 1, REPO, {"pull_requests": "read"}, policy=FAST)
    pushed = await pushed_by_people(gh, REPO, PR, BOT)
    assert [(p.sha[0], p.author) for p in pushed] == [
        ("b", "devon"),
        ("c", "Someone Unlinked"),
        ("d", "mallory"),
    ]


def test_the_agent_s_answer_per_comment_is_read_only_for_ids_the_revision_gave() -> None:
    text = "Done.\n- comment-601: documented --times\n* review-501 — kept the rest\ncomment-999: not ours\n"
    assert reported(text, {"comment-601", "review-501"}) == {
        "comment-601": "documented --times",
        "review-501": "kept the rest",
    }
    assert reported("comment-601: " + "x" * 2000, {"comment-601"})["comment-601"] == "x" * 500
