"""handle_comment end to end: a real arq Worker on real Redis, SQLite ledger, GitHub mocked with respx."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from arq import Retry

from app.constants import MARKER_CONFIG_ERROR, MARKER_FAILURE, command_marker
from app.github.comments import github_time
from app.settings import Settings
from jobs.handlers.comment import handle_comment
from tests.conftest import load_payload
from tests.github_mock import API, BOT_LOGIN, TOKEN, FakeGitHub, server_error
from tests.worker_support import FAST_CTX, enqueue, run_burst

pytestmark = pytest.mark.anyio

ISSUE = 1
COMMENT_ID = 492700400


@pytest.fixture
def github() -> FakeGitHub:
    return FakeGitHub()


@pytest.fixture
def api(github: FakeGitHub) -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        github.install(router)
        yield router


def comment_event(
    body: str, login: str = "octocat", *, bot: bool = False, comment_id: int = COMMENT_ID
) -> dict[str, Any]:
    """The real issue_comment.created example with its comment replaced."""
    payload = copy.deepcopy(load_payload("issue_comment", "created.with-installation"))
    payload["comment"]["body"] = body
    payload["comment"]["id"] = comment_id
    payload["comment"]["user"]["login"] = login
    payload["comment"]["user"]["type"] = "Bot" if bot else "User"
    return payload


async def answer(settings: Settings, body: str, login: str = "octocat", **kw: Any) -> None:
    comment_id = kw.pop("comment_id", COMMENT_ID)
    event = comment_event(body, login, comment_id=comment_id, **kw)
    await enqueue(
        settings, "handle_comment", f"comment:186853002:{comment_id}", delivery_id="d-1", event=event
    )
    await run_burst(settings)


async def test_help_is_answered_once_with_the_command_table(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    await answer(settings, "Hi!\n/steward help\n")
    replies = github.bot_comments(ISSUE)
    assert len(replies) == 1
    assert replies[0].startswith(command_marker(COMMENT_ID, 0))
    assert "| `/steward status` | anyone |" in replies[0]
    assert "| `/steward docs [instructions]` | write |" in replies[0]
    assert not api["permission"].called  # help needs no role, so none is asked for
    assert github.token_bodies == [
        {"repositories": ["Hello-World"], "permissions": {"contents": "read", "issues": "write"}}
    ]


async def test_status_lists_the_runs_on_the_issue(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    issue_event = load_payload("issues", "opened")
    issue_event["issue"]["number"] = ISSUE
    issue_event["repository"] = comment_event("x")["repository"]
    issue_event["installation"] = {"id": 1, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}
    await enqueue(
        settings, "triage_duplicates", "triage:1", delivery_id="d-0", event=issue_event, kind="issue"
    )
    await run_burst(settings)
    await answer(settings, "/steward status")
    [reply] = github.bot_comments(ISSUE)
    assert "| duplicates | closed |" in reply


async def test_status_says_plainly_when_there_are_no_runs(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    await answer(settings, "/steward status")
    [reply] = github.bot_comments(ISSUE)
    assert "No Steward runs on this one yet" in reply


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(None, False), ("read", False), ("triage", True), ("write", True), ("admin", True)],
)
async def test_duplicates_needs_triage(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter, role: str | None, allowed: bool
) -> None:
    if role is not None:
        github.permissions["octocat"] = role
    issue = api.get(f"{API}/repos/Codertocat/Hello-World/issues/{ISSUE}", name="issue").mock(
        return_value=httpx.Response(200, json=load_payload("issues", "opened")["issue"])
    )  # not indexed yet: the command reads the item and indexes it first
    await answer(settings, "/steward duplicates")
    [reply] = github.bot_comments(ISSUE)
    assert api["permission"].call_count == 1
    assert issue.called == allowed
    if allowed:
        assert "found no likely duplicates" in reply  # asked, so it answers even with an empty index
    else:
        assert "needs triage access" in reply and "@octocat" in reply


async def test_a_repository_may_raise_a_commands_level(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    github.files[".github/steward.yml"] = "commands:\n  duplicates:\n    permission: maintain\n"
    github.permissions["octocat"] = "write"
    await answer(settings, "/steward duplicates")
    [reply] = github.bot_comments(ISSUE)
    assert "needs maintain access" in reply and "you have write" in reply


async def test_an_unknown_command_gets_the_help_text(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    await answer(settings, "/steward frobnicate now")
    [reply] = github.bot_comments(ISSUE)
    assert "`/steward frobnicate` is not a command I know" in reply and "| `/steward help` |" in reply


async def test_several_commands_get_one_reply_each_and_a_custom_prefix_counts(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    github.files[".github/steward.yml"] = "prefix: /bot\n"
    await answer(settings, "/bot help\n> /bot status\n\n/steward help\n/bot status\n")
    replies = github.bot_comments(ISSUE)
    assert len(replies) == 2
    assert replies[0].startswith(command_marker(COMMENT_ID, 0)) and "`/bot help`" in replies[0]
    assert replies[1].startswith(command_marker(COMMENT_ID, 1)) and "No Steward runs" in replies[1]


async def test_steward_and_other_bots_are_ignored(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    await answer(settings, "/steward help", BOT_LOGIN, bot=True)
    assert not api["token"].called  # its own comment costs not even a token
    await answer(settings, "/steward help", "renovate[bot]", bot=True, comment_id=COMMENT_ID + 1)
    assert github.bot_comments(ISSUE) == []


async def test_an_allowed_bot_is_answered(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    github.files[".github/steward.yml"] = "allowed_bots: ['renovate[bot]']\n"
    await answer(settings, "/steward help", "renovate[bot]", bot=True)
    assert len(github.bot_comments(ISSUE)) == 1


INVALID = "prefix: /steward\nworkflows:\n  docs:\n    enabld: true\n"


async def test_an_invalid_config_is_answered_with_field_and_line_once(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    github.files[".github/steward.yml"] = INVALID
    await answer(settings, "/steward help")
    await answer(settings, "/steward help", comment_id=COMMENT_ID + 1)
    errors = [c for c in github.bot_comments(ISSUE) if MARKER_CONFIG_ERROR in c]
    assert len(errors) == 1
    assert "| `workflows.docs.enabld` | 4 |" in errors[0] and "did you mean `enabled`" in errors[0]
    helps = [c for c in github.bot_comments(ISSUE) if "| command |" in c]
    assert len(helps) == 2  # read-only commands still run, on the defaults


async def test_writing_commands_wait_for_a_valid_config(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    github.files[".github/steward.yml"] = INVALID
    github.permissions["octocat"] = "admin"
    await answer(settings, "/steward docs")
    [reply] = [c for c in github.bot_comments(ISSUE) if command_marker(COMMENT_ID, 0) in c]
    assert "waits until `.github/steward.yml` is fixed" in reply


async def test_a_job_retried_after_a_lost_502_posts_its_comment_once(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    github.lose_next["create_comment"] = 1  # GitHub created the comment, but the answer was a 502
    github.fail_next["list_comments"] = [server_error()]  # and the first look before posting fails too
    await enqueue(
        settings, "handle_comment", "comment:1:1", delivery_id="d-1", event=comment_event("/steward help")
    )
    worker = await run_burst(settings)
    assert worker.jobs_retried == 2 and worker.jobs_complete == 1 and worker.jobs_failed == 0
    assert api["create_comment"].call_count == 1
    assert len(github.bot_comments(ISSUE)) == 1
    assert github.updated == 0  # the retry found its comment by marker and left it alone


async def test_a_far_rate_limit_requeues_the_job_instead_of_sleeping(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    reset = int(time.time() + 3000)
    github.fail_next["contents"] = [
        httpx.Response(
            403,
            json={"message": "API rate limit exceeded"},
            headers={
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": str(reset),
                "x-ratelimit-limit": "5000",
            },
        )
    ]
    ctx = {"settings": settings, "job_try": 1, "job_id": "comment:1:1", "max_tries": 5, **FAST_CTX}
    started = time.monotonic()
    with pytest.raises(Retry) as caught:
        await handle_comment(ctx, "d-1", comment_event("/steward help"))
    assert time.monotonic() - started < 2
    assert 2900_000 < (caught.value.defer_score or 0) <= 3001_000
    assert github.bot_comments(ISSUE) == []


async def test_the_last_try_tells_the_issue_what_to_do_next(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    github.fail_next["permission"] = [server_error()] * 2
    ctx = {"settings": settings, "job_try": 5, "job_id": "comment:1:1", "max_tries": 5, **FAST_CTX}
    for _ in range(2):  # two final failures: one comment, updated
        outcome = await handle_comment(ctx, "d-1", comment_event("/steward duplicates"))
        assert outcome.startswith("failed")
    [report] = github.bot_comments(ISSUE)
    assert report.startswith(MARKER_FAILURE)
    assert "GitHub kept failing" in report and "**What to do next:**" in report


async def test_a_whole_job_logs_no_token(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    github.permissions["octocat"] = "read"
    github.lose_next["create_comment"] = 1  # the retry path logs too
    await answer(settings, "/steward help\n/steward duplicates")
    assert len(github.bot_comments(ISSUE)) == 2
    assert any("handle_comment" in r.getMessage() for r in caplog.records)
    assert all(TOKEN not in r.getMessage() and TOKEN not in str(r.__dict__) for r in caplog.records)


async def test_a_job_that_runs_out_of_time_is_stopped_and_told(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    """arq's own timeout would cancel the job silently; its budget ends it first and says so on the issue."""
    answered = api["permission"].side_effect

    async def hanging(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)  # GitHub never answers within the budget below
        return answered(request)  # type: ignore[no-any-return]

    api["permission"].side_effect = hanging
    await enqueue(
        settings,
        "handle_comment",
        "comment:186853002:7",
        delivery_id="d-7",
        event=comment_event("/steward duplicates", comment_id=7),
    )
    started = time.monotonic()
    worker = await run_burst(settings, ctx={"quick_job_budget": 0.5})
    assert time.monotonic() - started < 10
    [report] = github.bot_comments(ISSUE)
    assert report.startswith(MARKER_FAILURE)
    assert "it took longer than 0.5 seconds and was stopped" in report
    assert "`comment:186853002:7`" in report and "**What to do next:**" in report
    assert (worker.jobs_complete, worker.jobs_failed) == (1, 0)  # ended by its budget, not by arq's timeout


async def test_a_reply_on_a_long_thread_reads_only_the_comments_since_the_command(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    """A busy issue's thread is not read whole for each reply: the reply is younger than the command."""
    for n in range(250):  # three pages of older conversation, none of it Steward's answer
        github.add_comment(ISSUE, f"older comment {n}", "someone", at="2019-05-15T15:00:00Z")
    event = comment_event("/steward help")
    event["comment"]["created_at"] = "2019-05-15T17:20:18.250+02:00"  # the payload's clock, with an offset
    for delivery in ("d-1", "d-2"):  # the second: a redelivery after the first job's result expired
        job = f"comment:186853002:{COMMENT_ID}:{delivery}"
        await enqueue(settings, "handle_comment", job, delivery_id=delivery, event=event)
        await run_burst(settings)
    assert len(github.bot_comments(ISSUE)) == 1 and github.created == 1
    assert set(github.listed_since) == {"2019-05-15T15:20:18Z"}
    assert api["list_comments"].call_count == 2  # one page each time, not three


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019-05-15T15:20:18Z", "2019-05-15T15:20:18Z"),
        ("2019-05-15T15:20:18.999Z", "2019-05-15T15:20:18Z"),  # to the second, earlier: never later
        ("2019-05-15T17:20:18+02:00", "2019-05-15T15:20:18Z"),
        ("2019-05-15T15:20:18", None),  # no zone: not trusted, the whole thread is read
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_github_time_is_utc_to_the_second_or_none(value: str | None, expected: str | None) -> None:
    assert github_time(value) == expected
