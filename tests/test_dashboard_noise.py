"""The Health page's noise budgets use each repository's own `noise:` limits, as the worker recorded them when
it loaded the configuration, and never ask GitHub on a page view; unseen ones show labelled defaults"""

from __future__ import annotations

import re

import pytest
import respx
from redis.asyncio import Redis
from starlette.testclient import TestClient

from app.config import noise_record
from app.config.model import NoiseLimits
from app.dashboard.health import DEFAULTS_UNSEEN
from app.settings import Settings
from app.web.app import create_app
from jobs.ledger import Ledger
from tests.dashboard_support import TOKEN, dashboard_settings
from tests.run_fixtures import MAINTAINER, FakeRunGitHub, say

pytestmark = pytest.mark.anyio
HERE = "Codertocat/Hello-World"
PAGE = {"authorization": f"Bearer {TOKEN}", "accept": "text/html"}
ROW = re.compile(r"<tr><td>([^<]+)</td><td>(\d+) / (\d+)</td><td>(\d+) / (\d+)</td><td>([^<]+) / (\d+)</td>"
                 r"<td>([^<]+)</td></tr>")  # fmt: skip


def rows(html: str) -> dict[str, tuple[str, ...]]:
    table = html.split('<table id="noise">')[1].split("</table>")[0]
    return {found[0]: found[1:] for found in ROW.findall(table)}


async def test_the_health_page_shows_the_limits_the_worker_loaded_and_asks_github_nothing(
    settings: Settings, github: FakeRunGitHub, api: respx.MockRouter
) -> None:
    github.files[".github/steward.yml"] += "noise:\n  runs_per_day: 3\n  comments_per_hour: 7\n"
    await say(settings, "/steward docs", MAINTAINER, 7001)  # the worker loads the file, with Redis
    ledger = await Ledger.connect(settings.db_url)
    try:
        await ledger.create_run("octo/unseen", 1, "docs", actor="ann", actor_role="write")
    finally:
        await ledger.close()
    calls = api.calls.call_count
    with TestClient(create_app(dashboard_settings(settings)).api) as c:
        page = c.get("/dashboard/health", headers=PAGE)
    assert page.status_code == 200
    assert api.calls.call_count == calls  # the page view asked GitHub nothing
    shown = rows(page.text)
    runs, per_day, _, max_prs, _, per_hour, source = shown[HERE]
    assert (runs, per_day, max_prs, per_hour, source) == ("1", "3", "5", "7", noise_record.FROM_FILE)
    defaults = NoiseLimits()
    _, per_day, _, max_prs, _, per_hour, source = shown["octo/unseen"]
    assert (int(per_day), int(max_prs), int(per_hour)) == (
        defaults.runs_per_day,
        defaults.max_open_prs,
        defaults.comments_per_hour,
    )
    assert source == DEFAULTS_UNSEEN


async def test_a_repository_without_a_file_is_recorded_as_the_defaults_and_a_damaged_record_is_ignored(
    settings: Settings, github: FakeRunGitHub, api: respx.MockRouter
) -> None:
    del github.files[".github/steward.yml"]
    await say(settings, "/steward docs", MAINTAINER, 7002)
    redis = Redis.from_url(settings.redis_url)
    try:
        found = await noise_record.recorded(redis, [HERE, "octo/never"])
        assert set(found) == {HERE}
        assert found[HERE] == noise_record.Recorded(NoiseLimits(), noise_record.FROM_DEFAULTS)
        assert 0 < await redis.ttl(noise_record.key(HERE)) <= noise_record.NOISE_LIMITS_TTL_SECONDS
        await redis.set(noise_record.key(HERE), b'{"source": "file", "limits": {"runs_per_day": -1}}')
        assert await noise_record.recorded(redis, [HERE]) == {}  # invalid: the page falls back, labelled
    finally:
        await redis.aclose()
