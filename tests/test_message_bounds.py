"""Whatever a run produced, what Steward posts fits GitHub's 65,536-character cap and keeps its markers."""

from __future__ import annotations

from pathlib import Path

import pytest
import respx

from app.github.comments import MAX_BODY_UNITS, bounded_body
from app.settings import Settings
from jobs.ledger import RunState
from tests.github_mock import API
from tests.run_fixtures import (
    APPROVER,
    BRANCH,
    MAINTAINER,
    FakeRunGitHub,
    fake_github,
    make_remote,
    runs,
    say,
)
from tests.test_run_refusals import block

GITHUB_CAP = 65_536


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize("filler", ["src/module.py, ", "\U0001f600", "<!-- x "])
def test_a_long_body_is_cut_to_the_cap_and_keeps_every_marker(filler: str) -> None:
    body = (
        "<!-- steward:plan -->\n<!-- steward:plan-run r-1 -->\n"
        + filler * 40_000
        + "\n<!-- /steward:steps -->"
    )
    cut = bounded_body(body)
    assert units(cut) <= MAX_BODY_UNITS < GITHUB_CAP
    assert cut.startswith("<!-- steward:plan -->\n<!-- steward:plan-run r-1 -->\n")
    assert cut.rstrip().endswith("<!-- /steward:steps -->") and "was cut to fit GitHub's limit" in cut
    assert bounded_body(cut) == cut  # a second pass changes nothing, so an edit is not repeated


def test_a_short_body_is_left_alone() -> None:
    assert bounded_body("<!-- steward:help -->\nhello") == "<!-- steward:help -->\nhello"


FLOOD = (
    "python3 -c \"import os; os.makedirs('src/gen'); "
    "[open(f'src/gen/m{n}.py', 'w').close() for n in range(20000)]\""
)


@pytest.mark.docker
@pytest.mark.anyio
async def test_a_refusal_of_twenty_thousand_paths_posts_a_short_comment(
    settings: Settings, tmp_path: Path
) -> None:
    remote = make_remote(tmp_path, {"docs/generated.md": block(FLOOD)})
    github: FakeRunGitHub = fake_github(remote)
    router = respx.mock(base_url=API, assert_all_called=False)
    github.install(router)
    with router:
        await say(settings, "/steward docs", MAINTAINER, 3501)
        await say(settings, "/steward approve", APPROVER, 3502)
    (run,) = await runs(settings)
    assert run.state == RunState.FAILED and remote.sha(BRANCH) is None
    (told,) = [body for body in github.bot_comments(7) if "steward:run-result" in body]
    assert units(told) < 5_000 and "src/gen/" in told and "and 19980 more" in told
    assert all(units(body) <= GITHUB_CAP for body in github.bot_comments(7))
