"""`/steward docs` refusals and noise limits, `/steward cancel` of a waiting run, `/steward retry`."""

from __future__ import annotations

import pytest
import respx
from redis.asyncio import Redis

from app.constants import MARKER_LIMIT
from app.settings import Settings
from jobs.comment_count import comments_this_hour
from jobs.ledger import RunState
from tests.run_fixtures import (
    MAINTAINER,
    WRITER,
    FakeRunGitHub,
    replies,
    runs,
    say,
    trace_of,
)

pytestmark = pytest.mark.anyio


def limits(github: FakeRunGitHub) -> list[str]:
    return [body for body in github.bot_comments(7) if body.startswith(MARKER_LIMIT)]


async def test_a_second_docs_run_on_the_same_issue_is_refused(
    settings: Settings, github: FakeRunGitHub, api: respx.MockRouter
) -> None:
    await say(settings, "/steward docs", MAINTAINER, 5001)
    await say(settings, "/steward docs again", WRITER, 5002)
    (reply,) = replies(github)
    (run,) = await runs(settings)
    assert f"run `{run.id}` is already awaiting approval here; one docs run at a time" in reply
    assert len(github.plan_comments()) == 1


async def test_noise_limit_is_said_once_with_when_it_resets(
    settings: Settings, github: FakeRunGitHub, api: respx.MockRouter
) -> None:
    github.files[".github/steward.yml"] = "noise:\n  runs_per_day: 1\n"
    await say(settings, "/steward docs", MAINTAINER, 5101)
    await say(settings, "/steward cancel", MAINTAINER, 5102)
    await say(settings, "/steward docs", MAINTAINER, 5103)
    await say(settings, "/steward docs", MAINTAINER, 5104)
    (limit,) = limits(github)
    assert "noise limit of runs a day (1 of 1); it resets at 20" in limit and "UTC" in limit
    assert len(await runs(settings)) == 1


async def counted(settings: Settings) -> int:
    """Steward's new comments on the repository this hour, as the noise limit reads them from Redis."""
    redis = Redis.from_url(settings.redis_url)
    try:
        return await comments_this_hour(redis, "Codertocat/Hello-World")
    finally:
        await redis.aclose()


async def test_every_new_comment_counts_and_the_hourly_limit_refuses_a_run(
    settings: Settings, github: FakeRunGitHub, api: respx.MockRouter
) -> None:
    github.files[".github/steward.yml"] = "noise:\n  comments_per_hour: 2\n"
    await say(settings, "/steward docs", MAINTAINER, 5401)
    assert len(github.plan_comments()) == 1 and await counted(settings) == 1  # the plan, counted once
    await say(settings, "/steward docs again", WRITER, 5402)
    assert len(replies(github)) == 1 and await counted(settings) == 2  # a command reply counts
    await say(settings, "/steward cancel", MAINTAINER, 5403)
    assert len(replies(github)) == 2 and await counted(settings) == 3  # answers a person even past it
    await say(settings, "/steward docs", MAINTAINER, 5404)
    (limit,) = limits(github)
    assert "noise limit of comments an hour (3 of 2); it resets at 20" in limit and ":00 UTC" in limit
    await say(settings, "/steward docs", MAINTAINER, 5405)
    (limit,) = limits(github)  # said once per issue: the same comment, brought up to date
    assert "comments an hour (4 of 2)" in limit and await counted(settings) == 4
    assert len(await runs(settings)) == 1


async def test_open_pull_request_limit(
    settings: Settings, github: FakeRunGitHub, api: respx.MockRouter
) -> None:
    github.files[".github/steward.yml"] = "noise:\n  max_open_prs: 0\n"
    await say(settings, "/steward docs", MAINTAINER, 5201)
    (limit,) = limits(github)
    assert "open Steward pull requests (0 of 0); it resets when one of them is merged or closed" in limit
    assert await runs(settings) == []


async def test_cancel_a_waiting_run_then_retry_it_as_a_new_linked_run(
    settings: Settings, github: FakeRunGitHub, api: respx.MockRouter
) -> None:
    await say(settings, "/steward docs", MAINTAINER, 5301)
    (first,) = await runs(settings)
    await say(settings, "/steward cancel", WRITER, 5302)
    assert f"Cancelled `{first.id}`" in replies(github)[-1]
    (cancelled,) = await runs(settings)
    assert cancelled.state == RunState.CANCELLED
    assert "state **cancelled**" in github.plan_comments()[0]["body"]
    await say(settings, "/steward retry", WRITER, 5303)
    newest, old = await runs(settings)
    assert old.id == first.id and newest.retry_of == first.id
    assert newest.state == RunState.AWAITING_APPROVAL and newest.installation_id == first.installation_id
    assert f"Retrying run `{first.id}` as `{newest.id}`" in replies(github)[-1]
    assert len(github.plan_comments()) == 2  # one per run
    await say(settings, "/steward retry", WRITER, 5304)
    assert "Nothing to retry here" in replies(github)[-1]
    trace = await trace_of(settings, first.id)
    assert trace.transitions[-1].actor == WRITER
