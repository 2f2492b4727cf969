"""A repository's own issue and PR templates, read through the contents API (respx), bounded and cached."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx
from redis.asyncio import Redis

from app.config.model import DuplicatesConfig
from app.github.client import GitHubKitClient, installation_client
from app.github.protocol import IssueRecord, RepoId
from app.github.retrying import RetryPolicy
from app.settings import Settings
from jobs.duplicates import store, templates
from jobs.duplicates.live import IndexCache
from jobs.duplicates.store import Sessions
from jobs.duplicates.triage import triage
from tests.github_mock import API, BOT_LOGIN, FakeGitHub

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("lexical_only")]

REPO = RepoId("Codertocat", "Hello-World")
FAST = RetryPolicy(max_tries=2, backoff=0.01, max_rate_wait=0.5)

BUG_FORM = """name: Bug report
description: File a bug report.
title: "[Bug]: "
labels: ["bug", "triage"]
body:
  - type: markdown
    attributes:
      value: |
        Thanks for taking the time to fill out this bug report!
  - type: textarea
    id: what-happened
    attributes:
      label: What happened?
      description: Also tell us, what did you expect to happen?
      placeholder: Tell us what you see!
    validations:
      required: true
  - type: checkboxes
    id: terms
    attributes:
      label: Code of Conduct
      options:
        - label: I agree to follow this project's Code of Conduct
          required: true
"""
CHOOSER = "blank_issues_enabled: false\ncontact_links:\n  - name: Secret forum\n    about: Ask here\n"
PR_TEMPLATE = """## Checklist
- [ ] I have read the contributing guide
- [ ] Tests cover the change
- [ ] The changelog says what changed and why
## Related issues
None that I know of, this is a standalone improvement"""


@pytest.fixture
def github() -> FakeGitHub:
    return FakeGitHub()


@pytest.fixture
def api(github: FakeGitHub) -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        github.install(router)
        yield router


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(autouse=True)
def fresh_memory_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(templates, "_memory", type(templates._memory)())


async def client(settings: Settings) -> GitHubKitClient:
    return await installation_client(settings, 42, REPO, {"contents": "read"}, policy=FAST)


def content_paths(api: respx.MockRouter) -> list[str]:
    return [c.request.url.path.split("/contents", 1)[1].strip("/") for c in api["contents"].calls]


async def test_issue_forms_and_markdown_templates_become_line_keys(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    github.files = {
        ".github/ISSUE_TEMPLATE/bug.yml": BUG_FORM,
        ".github/ISSUE_TEMPLATE/config.yml": CHOOSER,
        ".github/pull_request_template.md": PR_TEMPLATE,
        "docs/ISSUE_TEMPLATE.md": "### Steps to reproduce\n1.\n### Expected behaviour\n",
        "README.md": "## Checklist of the project\n",
        "src/main.py": "print('hello')\n",
    }
    keys = await templates.fetch_templates(await client(settings), REPO)
    # The form as GitHub renders it into an issue: "### <label>", checkboxes, descriptions, the empty filler.
    assert {"### what happened?", "- [x] i agree to follow this project's code of conduct"} <= keys
    assert {"also tell us, what did you expect to happen?", "tell us what you see!", "_no response_"} <= keys
    assert "thanks for taking the time to fill out this bug report!" in keys
    assert {"- [ ] tests cover the change", "## related issues", "### steps to reproduce"} <= keys
    assert "secret forum" not in keys and "## checklist of the project" not in keys  # chooser, README
    fetched = content_paths(api)
    assert "README.md" not in fetched and "src/main.py" not in fetched and "src" not in fetched


async def test_a_repository_without_templates_costs_three_listings(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    github.files = {"README.md": "hello\n"}
    assert await templates.fetch_templates(await client(settings), REPO) == frozenset()
    assert sorted(content_paths(api)) == ["", ".github", "docs"]  # .github and docs answer 404


async def test_hostile_templates_are_bounded_and_never_raise(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    github.files = {
        ".github/ISSUE_TEMPLATE/huge.md": "- [ ] a line\n" * 10_000,
        ".github/ISSUE_TEMPLATE/deep.yml": "body: " + "[" * 5_000 + "]" * 5_000,
        ".github/ISSUE_TEMPLATE/indent.yml": "".join("  " * i + f"k{i}:\n" for i in range(200)),
        ".github/ISSUE_TEMPLATE/bomb.yml": bomb,
        ".github/ISSUE_TEMPLATE/broken.yml": "body: [label: {\n",
        ".github/ISSUE_TEMPLATE/good.md": "### Which version?\n",
    }
    keys = await templates.fetch_templates(await client(settings), REPO)
    assert keys == {"### which version?"}
    assert ".github/ISSUE_TEMPLATE/huge.md" not in content_paths(api)  # over the size bound: never fetched


async def test_binary_and_many_templates_are_skipped_or_capped(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    github.files = {f".github/ISSUE_TEMPLATE/t{i:02d}.md": f"### Field number {i}\n" for i in range(40)}
    keys = await templates.fetch_templates(await client(settings), REPO)
    assert len(keys) == templates.MAX_FILES
    assert len([p for p in content_paths(api) if p.endswith(".md")]) == templates.MAX_FILES

    png = base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe").decode()
    github.files = {".github/pull_request_template.md": "x", ".github/ISSUE_TEMPLATE.md": "a\x00b line\n"}
    listing = github._listing(".github")
    binary = {"type": "file", "encoding": "base64", "content": png, "sha": "1", "size": 12}
    github.fail_next["contents"] = [
        httpx.Response(404, json={"message": "Not Found"}),  # the root
        httpx.Response(200, json=listing),
        httpx.Response(200, json={**binary, "path": ".github/ISSUE_TEMPLATE.md"}),
        httpx.Response(200, json={**binary, "path": ".github/pull_request_template.md"}),
    ]
    assert await templates.fetch_templates(await client(settings), REPO) == frozenset()
    assert templates.parse_template("t.md", "a\x00b line\n") == frozenset()


async def test_templates_are_cached_per_repository(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter, redis: Redis
) -> None:
    github.files = {".github/PULL_REQUEST_TEMPLATE.md": PR_TEMPLATE}
    gh = await client(settings)
    first = await templates.repo_templates(gh, REPO, redis)
    calls = api["contents"].call_count
    assert "## related issues" in first
    assert await templates.repo_templates(gh, REPO, redis) == first
    assert api["contents"].call_count == calls  # from Redis
    assert await redis.ttl(templates.CACHE_PREFIX + REPO.full_name) > 3600

    github.files = {".github/PULL_REQUEST_TEMPLATE.md": "## Why\n"}
    assert await templates.repo_templates(gh, REPO, redis, refresh=True) == {"## why"}
    assert await templates.repo_templates(gh, REPO) == {"## why"}  # no Redis: this process's cache
    assert await templates.repo_templates(gh, REPO) == {"## why"}
    assert api["contents"].call_count == calls * 3


async def test_github_refusing_or_failing_gives_no_templates(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    gh = await client(settings)
    github.files = {".github/PULL_REQUEST_TEMPLATE.md": PR_TEMPLATE}
    github.fail_next["contents"] = [httpx.Response(403, json={"message": "Resource not accessible"})]
    assert await templates.repo_templates(gh, REPO) == frozenset()
    assert await templates.repo_templates(gh, REPO) == frozenset()  # a refusal is remembered
    assert api["contents"].call_count == 1
    templates._memory.clear()
    github.fail_next["contents"] = [httpx.Response(502, text="bad gateway")] * FAST.max_tries
    assert await templates.repo_templates(gh, REPO) == frozenset()
    assert "## related issues" in await templates.repo_templates(gh, REPO)  # unavailable: asked again


def item(number: int, title: str, body: str) -> IssueRecord:
    return IssueRecord(
        number=number,
        title=title,
        body=body,
        state="open",
        is_pull_request=True,
        author="octocat",
        html_url=f"https://github.com/{REPO.full_name}/pull/{number}",
        created_at=f"2024-02-{number:02d}T00:00:00Z",
    )


async def test_triage_strips_the_repository_template_before_deciding(
    db: Sessions, settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    topics = ["login page", "csv export", "dark mode", "api pagination", "docker image", "webhook retries"]
    records = [item(i, f"Fix {t}", f"The {t} was broken; this repairs it.") for i, t in enumerate(topics, 1)]
    records += [
        item(10, "Dark theme for settings", "Adds a dark palette.\n" + PR_TEMPLATE),
        item(11, "Faster startup", "Lazy imports.\n" + PR_TEMPLATE),
    ]
    await store.upsert_items(db, REPO.full_name, records)
    gh = await client(settings)
    config = DuplicatesConfig(threshold=0.3)

    async def scores() -> dict[int, float]:
        result = await triage(gh, db, IndexCache(db), REPO, 11, config, bot_login=BOT_LOGIN)
        return {s.number: s.score for s in result.candidates}

    without = await scores()
    github.files = {".github/pull_request_template.md": PR_TEMPLATE}
    templates._memory.clear()
    with_template = await scores()
    assert without[10] >= config.threshold  # the template alone makes them look alike
    assert with_template[10] < config.threshold and with_template[10] < without[10]
    (body,) = github.bot_comments(11)
    assert github.created == 1 and github.updated == 1 and "#10" not in body  # the rerun withdrew it
