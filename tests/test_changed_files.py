"""The files a run is about: a pull request's changed files, or those of the pull requests linked to an issue,
read through the githubkit client from payloads shaped like GitHub's (tests/fixtures/github), and bounded."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from app.github.client import GitHubKitClient, installation_client
from app.github.errors import GitHubUnavailable
from app.github.protocol import IssueRecord, RepoId
from app.github.retrying import RetryPolicy
from app.settings import Settings
from jobs.runs.item import MAX_CHANGED_FILES, changed_files
from tests.github_mock import API
from tests.run_fixtures import FakeRunGitHub

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).parent / "fixtures" / "github"
REPO = RepoId("Codertocat", "Hello-World")
FAST = RetryPolicy(max_tries=1, backoff=0.01, max_rate_wait=0.5)
KEPT = ["sample/cli.py", "sample/times.py", "sample/greet.py"]
"""pull_files.json without its removed file, in GitHub's order."""


def fixture(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text())
    return data


def issue(number: int, *, pull: bool = False) -> IssueRecord:
    return IssueRecord(
        number=number, title="t", body="", state="open", is_pull_request=pull, author="octocat"
    )


@pytest.fixture
def github() -> FakeRunGitHub:
    return FakeRunGitHub()


@pytest.fixture
def api(github: FakeRunGitHub) -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        github.install(router)
        yield router


async def client(settings: Settings) -> GitHubKitClient:
    return await installation_client(settings, 1, REPO, {"pull_requests": "read"}, policy=FAST)


async def test_a_pull_requests_files_are_its_changed_files_without_the_removed_ones(
    settings: Settings, github: FakeRunGitHub, api: respx.MockRouter
) -> None:
    github.pull_files[12] = fixture("pull_files.json")
    gh = await client(settings)
    assert await changed_files(gh, REPO, issue(12, pull=True)) == tuple(KEPT)
    assert not api["timeline"].called  # a pull request's own files, not its mentions


async def test_an_issue_gets_the_files_of_the_pull_requests_of_this_repository_that_mention_it(
    settings: Settings, github: FakeRunGitHub, api: respx.MockRouter
) -> None:
    github.timeline[7] = fixture("timeline.json")
    github.pull_files[9] = fixture("pull_files.json")
    gh = await client(settings)
    assert await gh.linked_pulls(REPO, 7, 3) == [9]  # not issue #8, not the other repository's #3, once
    assert await changed_files(gh, REPO, issue(7)) == tuple(KEPT)
    (call,) = api["pull_files"].calls
    assert call.request.url.path == "/repos/Codertocat/Hello-World/pulls/9/files"


async def test_the_timeline_and_the_files_are_followed_across_pages_and_bounded(
    settings: Settings, github: FakeRunGitHub, api: respx.MockRouter
) -> None:
    events = fixture("timeline.json")
    pulls = []
    for number in range(20, 26):  # six linked pull requests, each behind 150 other events
        event = copy.deepcopy(events[3])
        event["source"]["issue"]["number"] = number
        pulls += [events[0]] * 150 + [event]
    github.timeline[7] = pulls
    many = fixture("pull_files.json")[0]
    for number in range(20, 26):
        github.pull_files[number] = [{**many, "filename": f"src/m{number}_{i}.py"} for i in range(250)]
    gh = await client(settings)
    found = await changed_files(gh, REPO, issue(7))
    assert len(found) == MAX_CHANGED_FILES == 300
    assert found[0] == "src/m20_0.py" and found[-1] == "src/m21_49.py"  # the oldest linked PRs first
    assert [c.request.url.path.split("/")[-2] for c in api["pull_files"].calls] == ["20", "20", "20", "21"]
    assert api["timeline"].call_count == 5  # 3 linked PRs found on page 5 of 100 events: no sixth page


async def test_a_timeline_github_refuses_gives_no_files_and_no_failure(
    settings: Settings, api: respx.MockRouter
) -> None:
    gone = httpx.Response(410, json={"message": "Issues are disabled for this repo", "status": "410"})
    api["timeline"].mock(side_effect=lambda request: gone)
    gh = await client(settings)
    assert await changed_files(gh, REPO, issue(7)) == ()
    assert api["timeline"].called


async def test_a_github_outage_is_not_taken_for_no_files(settings: Settings, api: respx.MockRouter) -> None:
    api["pull_files"].mock(side_effect=lambda request: httpx.Response(502, json={"message": "Bad Gateway"}))
    gh = await client(settings)
    with pytest.raises(GitHubUnavailable):  # the job retries later rather than planning on nothing
        await changed_files(gh, REPO, issue(12, pull=True))
