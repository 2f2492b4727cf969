"""Whatever a run produced, what Steward posts fits GitHub's 65,536-character cap and keeps its markers."""

from __future__ import annotations

import re
from pathlib import Path

import cmarkgfm
import pytest
import respx

from app.github.comments import MAX_BODY_UNITS, bounded_body
from app.github.untrusted import fenced, message
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


def _shown(markdown: str) -> tuple[str, str]:
    """What GitHub shows of a comment outside code, and inside code blocks (cmark-gfm renders it)."""
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=cmarkgfm.Options.CMARK_OPT_UNSAFE)
    blocks = "".join(re.findall(r"<pre[^>]*>.*?</pre>", html, re.DOTALL))
    return re.sub(r"<pre[^>]*>.*?</pre>|<code>.*?</code>", "", html, flags=re.DOTALL), blocks


QUOTED = message("see @victim-team now")  # "see `@victim-team` now": inert where it is whole
LOG = "\n".join(fenced("ran tests @victim-team ``` <b>x</b>\n" * 4_000))
SHAPES = {
    "one line": lambda pad: "a" * (64_860 + pad) + " " + QUOTED + "b" * 200,
    "many lines": lambda pad: "a" * pad + "\n" + (QUOTED + " x\n") * 3_000,
    "cut in a fence": lambda pad: "<!-- steward:run -->\n" + "a" * pad + "\n" + LOG + "\n" + QUOTED,
    "cut in a long fence": lambda pad: (
        "a" * pad + "\n" + "\n".join(fenced("`" * 200 + "\n@victim-team\n" * 9_000))
    ),
    "crlf lines": lambda pad: "a" * pad + "\r\n" + (QUOTED + "\r\n") * 3_000,
}


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_no_cut_point_leaves_a_mention_live_or_a_fence_open(shape: str) -> None:
    """Whatever length outside text gives a body (the sandbox chooses its output's), the cut keeps every
    code span whole and every code fence closed: what was inert stays inert, and the notice reads as text."""
    for pad in range(0, 100, 3):  # cut points across a code span, a line and a fence's lines
        body = SHAPES[shape](pad)
        cut = bounded_body(body)
        text, code = _shown(cut)
        assert units(cut) <= MAX_BODY_UNITS and "@victim" not in text, (pad, cut[-400:])
        assert "<em>(The rest of this text" in text and "The rest of this text" not in code, (pad, cut[-400:])
        assert all(marker in cut for marker in re.findall(r"<!-- steward:[^>]*-->", body))
        assert bounded_body(cut) == cut


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
