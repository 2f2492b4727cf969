"""A hostile issue title, through a real docs run, reaches GitHub and git only as inert text.

The title from the review: it mentions a team and a person, embeds a tracking image and a fake link, and
names other issues. Everywhere Steward repeats it (the plan comment, the commit message, the committed
changelog entry, the pull request's body) GitHub's own renderer must find no mention, no reference, no
image and no link but Steward's.
"""

from __future__ import annotations

import re

import cmarkgfm
import pytest
import respx
from cmarkgfm.cmark import Options

from app.settings import Settings
from jobs.ledger import RunState
from tests.run_fixtures import BRANCH, MAINTAINER, FakeRunGitHub, Remote, git, runs, say

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

HOSTILE = (
    "@octo-org/security @alice <img src=https://attacker.example/p.png> [Approve](https://attacker.example/x)"
    " fixes #12 GH-13 octo/other#14\n# heading\n| a | b |"
)
OURS = re.compile(r"^https://github\.com/Codertocat/Hello-World/issues/7$")


def render(markdown: str) -> str:
    return cmarkgfm.markdown_to_html_with_extensions(
        markdown, options=Options.CMARK_OPT_UNSAFE, extensions=["autolink", "table", "strikethrough"]
    )


def assert_inert(markdown: str, where: str) -> None:
    """Rendered, the text holds no image, no heading or table of the title's, no link but the issue's own."""
    rendered = render(markdown)
    outside_code = re.sub(r"<code>.*?</code>", " ", rendered, flags=re.DOTALL)
    words = re.sub(r"<[^>]+>", " ", outside_code)
    assert "<img" not in rendered and "<h1>" not in rendered, where
    assert not [href for href in re.findall(r'<a href="([^"]*)"', rendered) if not OURS.match(href)], where
    assert not re.search(r"@(alice|octo-org)", words), where
    assert not re.search(r"#1[234]\b|GH-13", words), where


async def test_a_hostile_title_is_inert_in_the_plan_commit_changelog_and_pull_request(
    settings: Settings, github: FakeRunGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    github.issue_title = HOSTILE
    github.files[".github/steward.yml"] = "workflows:\n  docs:\n    approval:\n      required: false\n"
    await say(settings, "/steward docs", MAINTAINER, 6001)
    (run,) = await runs(settings)
    assert run.state == RunState.PROPOSED

    (plan,) = github.plan_comments()
    assert_inert(plan["body"], "plan comment")
    (pull,) = github.pulls
    assert_inert(pull["body"], "pull request body")
    assert "Approve" in pull["body"] and "attacker.example/x" in pull["body"]  # shown, as text

    head = remote.sha(BRANCH)
    assert head is not None
    message = git(remote.bare, "log", "-1", "--format=%B", head)
    assert not re.search(r"@(alice|octo-org)|#1[234]\b|GH-13|<img|https://", message), message
    assert "Refs #7" in message and len(message.split("\n\n")[1].splitlines()) == 1
    changelog = git(remote.bare, "show", f"{head}:CHANGELOG.md")
    (entry,) = [line for line in changelog.splitlines() if "(#7)" in line or "[#7]" in line]
    assert_inert(entry, "changelog entry")
    assert "<img" not in entry and "](https://attacker" not in entry
