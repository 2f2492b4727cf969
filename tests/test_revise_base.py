"""A built-in revision re-plans from the current base: when the default branch has moved since the pull
request was opened, it is merged into the branch (a merge commit, nothing rewritten) and the generated parts
are refreshed on top; a conflict stops the run, says so, and pushes nothing.

Real arq worker on real Redis, real SQLite ledger, real Docker sandbox (the exec blocks run in it), real git
with a bare repository as the remote; GitHub's HTTP mocked with respx (tests/revision_fixtures.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import respx

from app.settings import Settings
from jobs.ledger import RunState
from tests.revision_fixtures import PR, FakeReviewGitHub
from tests.run_fixtures import (
    APPROVER,
    BRANCH,
    MAINTAINER,
    ROLES,
    SAMPLE,
    Remote,
    git,
    runs,
    trace_of,
)
from tests.test_revise import on_pull, proposed, result_comments

pytestmark = [pytest.mark.anyio, pytest.mark.docker]
LOUD = (
    (SAMPLE / "sample" / "__main__.py")
    .read_text()
    .replace(
        "    args = parser.parse_args()\n",
        '    parser.add_argument("--loud", action="store_true", help="greet twice as loud")\n'
        "    args = parser.parse_args()\n",
    )
)


@pytest.fixture
def github(remote: Remote) -> FakeReviewGitHub:
    fake = FakeReviewGitHub(remote=remote)
    fake.permissions = dict(ROLES)
    fake.files[".github/steward.yml"] = (SAMPLE / ".github" / "steward.yml").read_text()
    return fake


def parents(remote: Remote, sha: str) -> list[str]:
    return git(remote.bare, "rev-list", "--parents", "-n", "1", sha).split()[1:]


def stopped(github: FakeReviewGitHub) -> list[str]:
    return [body for body in github.bot_comments(PR) if "stopped: the default branch `main` moved" in body]


async def test_a_moved_base_is_merged_in_and_the_generated_block_is_refreshed_on_top(
    settings: Settings, github: FakeReviewGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    parent, first = await proposed(settings, github, remote)
    forked = remote.sha("main")
    assert forked is not None
    moved = remote.push_change("sample/__main__.py", LOUD)  # the default branch moves on

    await on_pull(settings, "/steward revise", MAINTAINER, 4001)
    (plan,) = github.plan_comments(PR)
    assert f"**Base moved:** `main` moved from `{forked[:12]}` to `{moved[:12]}`" in plan["body"]
    assert "a merge commit; nothing is rebased or force-pushed" in plan["body"]
    assert f"**Based on:** `{moved[:12]}`" in plan["body"]
    assert "- [x] Refresh the generated block in docs/usage.md" in plan["body"]

    await on_pull(settings, "/steward approve", APPROVER, 4002)
    (revision,) = await runs(settings, PR)
    done = (await trace_of(settings, revision.id)).run
    assert done.state == RunState.PROPOSED, done
    head = remote.sha(BRANCH)
    assert head is not None
    (merge,) = parents(remote, head)
    assert parents(remote, merge) == [first, moved], "the branch's head first, then main: nothing rewritten"
    assert f"Steward-Run: {revision.id}" in git(remote.bare, "log", "-1", "--format=%B", merge)
    assert remote.files_changed(merge, head) == ["README.md", "docs/usage.md"]
    for path in ("README.md", "docs/usage.md"):  # README's block the first run made, refreshed for main
        usage = git(remote.bare, "show", f"{head}:{path}")
        assert "[--loud]" in usage, f"{path}'s block was run on the merged tree, in the sandbox"
    assert "[--loud]" not in git(remote.bare, "show", f"{first}:README.md")
    assert "--loud" in git(remote.bare, "show", f"{head}:sample/__main__.py")
    changelog = git(remote.bare, "show", f"{head}:CHANGELOG.md")
    assert changelog.count("#7") == 1, "the changelog entry is kept once, not added again"
    (result,) = result_comments(github)
    assert f"merge commit `{merge[:12]}` brings it into the branch" in result
    assert f"had moved from `{forked[:12]}` to `{moved[:12]}`" in result
    assert "Refresh the generated block in docs/usage.md: done" in result
    assert len(github.pulls) == 1 and parent.pr_number == PR


async def test_a_base_that_conflicts_stops_the_revision_and_pushes_nothing(
    settings: Settings, github: FakeReviewGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    _, first = await proposed(settings, github, remote)
    changelog = (remote.dev / "CHANGELOG.md").read_text()
    ours = changelog.replace("## [Unreleased]\n", "## [Unreleased]\n\n### Fixed\n- A fix on main (#5)\n")
    moved = remote.push_change("CHANGELOG.md", ours)  # the same lines as the pull request's entry

    await on_pull(settings, "/steward revise", MAINTAINER, 4101)
    (revision,) = await runs(settings, PR)
    last = (await trace_of(settings, revision.id)).transitions[-1]
    assert last.to_state == RunState.FAILED and "conflicts with the pull request's branch in 1 file(s)" in (
        last.reason or ""
    )
    assert "CHANGELOG.md" not in (last.reason or ""), (
        "a file name is the repository's text: only the comment names it"
    )
    (text,) = stopped(github)
    assert f"to `{moved[:12]}`, and merging it into `{BRANCH}` conflicts in 1 file(s)" in text
    assert "- `CHANGELOG.md`" in text and "Nothing was pushed." in text
    assert "/steward revise" in text
    assert github.plan_comments(PR) == [], "no plan to approve"
    assert remote.sha(BRANCH) == first, "nothing pushed"


async def test_a_conflict_found_at_work_time_stops_the_revision_and_keeps_the_persons_commit(
    settings: Settings, github: FakeReviewGitHub, remote: Remote, api: respx.MockRouter, tmp_path: Path
) -> None:
    _, first = await proposed(settings, github, remote)
    readme = (remote.dev / "README.md").read_text()
    moved = remote.push_change("README.md", readme + "\nA line on main.\n")
    await on_pull(settings, "/steward revise", MAINTAINER, 4201)
    (plan,) = github.plan_comments(PR)
    assert f"to `{moved[:12]}`" in plan["body"], "it merged cleanly when planned"

    person = tmp_path / "person"  # then a person edits the same line on the branch
    git(tmp_path, "clone", "-q", "-b", BRANCH, str(remote.bare), str(person))
    (person / "README.md").write_text(readme + "\nA line on the branch.\n")
    git(person, "commit", "-qam", "edit README")
    git(person, "push", "-q", "origin", f"HEAD:{BRANCH}")
    theirs = git(person, "rev-parse", "HEAD")

    await on_pull(settings, "/steward approve", APPROVER, 4202)
    (revision,) = await runs(settings, PR)
    last = (await trace_of(settings, revision.id)).transitions[-1]
    assert last.to_state == RunState.FAILED and "conflicts with the pull request's branch in 1 file(s)" in (
        last.reason or ""
    )
    assert "README.md" not in (last.reason or ""), (
        "a file name is the repository's text: only the comment names it"
    )
    (text,) = stopped(github)
    assert "- `README.md`" in text and "Nothing was pushed." in text
    assert remote.sha(BRANCH) == theirs != first, "the person's commit is the head; nothing pushed over it"
