"""Revisions of Steward's pull requests: `/steward revise` and "Request changes" reviews.

Real arq worker on real Redis, real SQLite ledger, real Docker sandbox, real git with a bare repository as
the remote; GitHub's HTTP mocked with respx, its reviews and review comments shaped like the real webhook
examples.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import respx
from pydantic import SecretStr
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.usage import RequestUsage

from app.settings import Settings
from jobs.agent.engine import EngineModel
from jobs.ledger import RunState, RunView
from tests.revision_fixtures import (
    PR,
    FakeReviewGitHub,
    changes_requested_event,
    pull_comment_event,
    review_comment_item,
    review_item,
)
from tests.run_fixtures import (
    APPROVER,
    BRANCH,
    GIT_ENV,
    MAINTAINER,
    REVIEWER,
    ROLES,
    SAMPLE,
    WRITER,
    Remote,
    git,
    review_event,
    runs,
    say,
    statuses_for,
    trace_of,
)
from tests.worker_support import enqueue, run_burst

pytestmark = [pytest.mark.anyio, pytest.mark.docker]
REVIEW_BODY = "Please keep the usage page in step with --help too."
LINE_BODY = "This block is stale: refresh it."


@pytest.fixture
def model_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"model_provider": "openai", "model_base_url": "http://127.0.0.1:9/v1",
                "model_name": "local-7b", "model_api_key": SecretStr("sk-test-revise")}
    )  # fmt: skip


@pytest.fixture
def github(remote: Remote) -> FakeReviewGitHub:
    fake = FakeReviewGitHub(remote=remote)
    fake.permissions = dict(ROLES)
    fake.files[".github/steward.yml"] = (SAMPLE / ".github" / "steward.yml").read_text()
    return fake


async def on_pull(settings: Settings, body: str, login: str, comment_id: int) -> None:
    """A person comments on Steward's pull request; the worker answers everything that follows."""
    event = pull_comment_event(body, login, comment_id)
    await enqueue(settings, "handle_comment", f"comment:pr:{comment_id}", delivery_id=f"d-{comment_id}",
                  event=event)  # fmt: skip
    await run_burst(settings)


async def proposed(settings: Settings, github: FakeReviewGitHub, remote: Remote) -> tuple[RunView, str]:
    """The docs run proposes PR #100 (the usage page's block unticked, so a revision has work left)."""
    await say(settings, "/steward docs", MAINTAINER, 1001)
    github.untick("docs/usage.md")
    await say(settings, "/steward approve", APPROVER, 1002)
    (run,) = await runs(settings)
    head = remote.sha(BRANCH)
    assert run.state == RunState.PROPOSED and run.pr_number == PR and head is not None
    github.reviews[PR] = [
        review_item(501, REVIEWER, "changes_requested", REVIEW_BODY, "2099-01-01T10:00:00Z")
    ]
    github.review_comments[PR] = [
        review_comment_item(601, REVIEWER, "docs/usage.md", 3, LINE_BODY, "2099-01-01T10:00:01Z"),
        review_comment_item(602, "steward[bot]", "README.md", 1, "my own note", "2099-01-01T10:00:02Z"),
    ]
    github.review_comments[PR][1]["user"]["type"] = "Bot"
    return run, head


def result_comments(github: FakeReviewGitHub) -> list[str]:
    return [body for body in github.bot_comments(PR) if "<!-- steward:revision " in body]


async def test_a_revision_adds_a_commit_to_the_same_pull_request_and_resets_the_gate(
    settings: Settings, github: FakeReviewGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    parent, first = await proposed(settings, github, remote)
    await enqueue(settings, "review_submitted", "review:1", delivery_id="r1",
                  event=review_event(REVIEWER, "approved", PR, first))  # fmt: skip
    await run_burst(settings)
    assert statuses_for(github, first) == ["pending", "success"]

    await on_pull(settings, "/steward revise keep it short", MAINTAINER, 2001)
    (plan,) = github.plan_comments(PR)
    assert f"**Revises:** run `{parent.id}` in #{PR}" in plan["body"]
    assert f"on top of `{first[:12]}`" in plan["body"] and "Review comments read: 2" in plan["body"]
    assert "does not act on review text" in plan["body"] and "keep it short" in plan["body"]
    assert "- [x] Refresh the generated block in docs/usage.md" in plan["body"]
    assert "state **awaiting approval**" in plan["body"]
    revision = next(r for r in await runs(settings, PR))
    assert revision.revision_of == parent.id and revision.branch == BRANCH
    assert revision.actor_role == "maintain"  # the reviser's own role, asked of GitHub

    await on_pull(settings, "/steward approve", APPROVER, 2002)
    head = remote.sha(BRANCH)
    assert head is not None and head != first
    assert git(remote.bare, "rev-parse", f"{head}^") == first, "a new commit on top, no force-push"
    assert len(git(remote.bare, "rev-list", "--parents", "-n", "1", head).split()) == 2, "no merge commit"
    assert "**Base moved:**" not in plan["body"] and "**Base moved:**" not in result_comments(github)[0]
    assert remote.files_changed(first, head) == ["docs/usage.md"]
    assert f"Steward-Run: {revision.id}" in git(remote.bare, "log", "-1", "--format=%B", head)
    assert len(github.pulls) == 1, "no new pull request"
    assert statuses_for(github, head) == ["pending"], "the review gate starts again on the new commit"
    (result,) = result_comments(github)
    assert f"New commit `{head[:12]}`" in result and f"revises `{parent.id}`" in result
    assert "@rita's review (changes requested)" in result and "@rita on `docs/usage.md` line 3" in result
    assert result.count("not acted on: the built-in engine") == 2 and "my own note" not in result
    assert "Refresh the generated block in docs/usage.md: done" in result
    done = (await trace_of(settings, revision.id)).run
    assert done.state == RunState.PROPOSED and done.pr_number == PR
    assert (await trace_of(settings, parent.id)).run.state == RunState.PROPOSED

    # A new approving review counts for the new commit; closing the PR ends both runs.
    await enqueue(settings, "review_submitted", "review:2", delivery_id="r2",
                  event=review_event("wes", "approved", PR, head))  # fmt: skip
    await run_burst(settings)
    assert statuses_for(github, head) == ["pending", "success"]


async def test_a_revision_is_refused_below_the_approval_level_and_off_steward_pull_requests(
    settings: Settings, github: FakeReviewGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    parent, first = await proposed(settings, github, remote)
    await on_pull(settings, "/steward revise", WRITER, 2101)  # write; the docs approval level is maintain
    (reply,) = [b for b in github.bot_comments(PR) if b.startswith("<!-- steward:reply 2101:0")]
    assert "@wes, a revision of this pull request needs `maintain` access" in reply
    assert "you have write. Nothing was started." in reply
    await on_pull(settings, "/steward revise", "tom", 2102)  # triage: below the command's own floor
    assert any("needs write access" in b for b in github.bot_comments(PR) if "2102:0" in b)
    assert await runs(settings, PR) == [] and remote.sha(BRANCH) == first

    event = pull_comment_event("/steward revise", MAINTAINER, 2103, number=55)
    await enqueue(settings, "handle_comment", "comment:pr:2103", delivery_id="d", event=event)
    await run_burst(settings)
    (other,) = github.bot_comments(55)
    assert "works on a pull request Steward opened; #55 is not one" in other
    assert len(await runs(settings)) == 1 and (await runs(settings))[0].id == parent.id


async def test_a_revision_of_a_workflow_now_in_shadow_answers_nothing_on_github(
    settings: Settings, github: FakeReviewGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    """Once docs is in shadow, even a refused `/steward revise` on its pull request is only logged."""
    await proposed(settings, github, remote)
    github.files[".github/steward.yml"] += "    mode: shadow\n"
    before = list(github.bot_comments(PR))
    await on_pull(settings, "/steward revise", WRITER, 2201)  # below the approval level: refused, silently
    assert github.bot_comments(PR) == before
    assert await runs(settings, PR) == []


async def test_a_revision_builds_on_commits_a_person_pushed_and_says_so(
    settings: Settings, github: FakeReviewGitHub, remote: Remote, api: respx.MockRouter, tmp_path: Path
) -> None:
    _, first = await proposed(settings, github, remote)
    github.logins["dev@example.com"] = "devon"
    person = tmp_path / "person"
    git(tmp_path, "clone", "-q", "-b", BRANCH, str(remote.bare), str(person))

    def push(path: str, text: str) -> str:
        (person / path).write_text(text)
        git(person, "commit", "-qam", f"edit {path}")
        git(person, "push", "-q", "origin", f"HEAD:{BRANCH}")
        return git(person, "rev-parse", "HEAD")

    before = push("docs/usage.md", (person / "docs/usage.md").read_text() + "\nA note by a person.\n")
    await on_pull(settings, "/steward revise", MAINTAINER, 2201)
    (plan,) = github.plan_comments(PR)
    assert f"on top of `{before[:12]}`" in plan["body"]
    assert "**Builds on people's commits:** @devon pushed 1 commit(s)" in plan["body"]
    assert "Steward builds on them" in plan["body"] and "never force-pushes" in plan["body"]

    after = push("README.md", (person / "README.md").read_text() + "\nAnother line by a person.\n")
    await on_pull(settings, "/steward approve", APPROVER, 2202)
    head = remote.sha(BRANCH)
    assert head is not None and git(remote.bare, "rev-parse", f"{head}^") == after
    for kept in (first, before, after):
        done = subprocess.run(
            ["git", "merge-base", "--is-ancestor", kept, head], cwd=remote.bare, env=GIT_ENV
        )
        assert done.returncode == 0, f"{kept} is kept under the revision"
    assert "A note by a person." in git(remote.bare, "show", f"{head}:docs/usage.md")
    (result,) = result_comments(github)
    assert "@devon pushed 2 commit(s)" in result and f"`{after[:12]}`" in result
    assert "Steward builds on them" in result


async def test_a_changes_requested_review_starts_one_revision_where_revise_on_says_so(
    settings: Settings, github: FakeReviewGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    _, first = await proposed(settings, github, remote)
    event = changes_requested_event(APPROVER, 501, first, REVIEW_BODY)
    await enqueue(settings, "review_submitted", "review:501", delivery_id="off", event=event)
    await run_burst(settings)
    assert await runs(settings, PR) == [], "revise_on is off by default"

    github.files[".github/steward.yml"] += "    revise_on: [changes_requested]\n"
    for delivery in ("on-1", "on-2"):  # the same review delivered twice (a new job each time)
        await enqueue(
            settings, "review_submitted", f"review:501:{delivery}", delivery_id=delivery, event=event
        )
        await run_burst(settings)
    (revision,) = await runs(settings, PR)
    assert revision.actor == APPROVER and revision.event == "review changes_requested"
    assert revision.actor_role == "maintain"  # the reviewer's role
    assert len(github.plan_comments(PR)) == 1
    assert not [b for b in github.bot_comments(PR) if "<!-- steward:revise-review 501 -->" in b]

    low = changes_requested_event(REVIEWER, 502, first, "please change it")
    await enqueue(settings, "review_submitted", "review:502", delivery_id="low", event=low)
    await run_burst(settings)
    (reply,) = [b for b in github.bot_comments(PR) if "<!-- steward:revise-review 502 -->" in b]
    assert "@rita, a revision of this pull request needs `maintain` access" in reply
    assert len(await runs(settings, PR)) == 1


async def test_with_the_agent_engine_the_model_reads_the_comments_as_data_and_each_gets_an_answer(
    model_settings: Settings,
    github: FakeReviewGitHub,
    remote: Remote,
    api: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    def script(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        asked = sum(1 for m in messages if m.kind == "response")
        usage = RequestUsage(input_tokens=100, output_tokens=10)
        text = "# Usage\n\nPass `--shout` to greet in capitals.\n"
        revising = "comment-601" in str(messages[0])
        if asked == 0:
            seen.append(str(messages[0]))
            if revising:
                text += "Pass `--times N` to greet N times.\n"
            call = ToolCallPart("write_file", {"path": "docs/usage.md", "content": text})
            return ModelResponse(parts=[call], usage=usage)
        words = (
            "comment-601: documented --times in docs/usage.md\nreview-501: kept the rest"
            if revising
            else "ok"
        )
        return ModelResponse(parts=[TextPart(words if revising else "ok")], usage=usage)

    def operator(_settings: Settings) -> EngineModel:
        return EngineModel(FunctionModel(script, model_name="local-7b"), lambda i, o: 0.0)

    monkeypatch.setattr("jobs.agent.operator.operator_model", operator)
    github.files[".github/steward.yml"] = (
        "workflows:\n  docs:\n    engine: agent\n    approval:\n      required: false\n"
    )
    await say(model_settings, "/steward docs", MAINTAINER, 3001)
    (parent,) = await runs(model_settings)
    first = remote.sha(BRANCH)
    assert parent.state == RunState.PROPOSED and first is not None
    github.reviews[PR] = [
        review_item(501, REVIEWER, "changes_requested", REVIEW_BODY, "2099-01-01T10:00:00Z")
    ]
    github.review_comments[PR] = [
        review_comment_item(
            601, REVIEWER, "docs/usage.md", 3, "Mention --times here.", "2099-01-01T10:00:01Z"
        )
    ]

    await on_pull(model_settings, "/steward revise and nothing else", MAINTAINER, 3002)
    (revision,) = await runs(model_settings, PR)
    assert revision.state == RunState.PROPOSED, revision
    (plan,) = github.plan_comments(PR)
    assert "- [x] Address rita's comment on docs/usage.md line 3: Mention --times here." in plan["body"]
    assert "- [x] Address rita's review (changes requested): Please keep the usage page" in plan["body"]
    prompt = seen[-1]
    assert "the review comments on your pull request to address" in prompt and "BEGIN DATA" in prompt
    assert "comment-601 by rita on docs/usage.md line 3" in prompt and "Mention --times here." in prompt
    assert "and nothing else" in prompt  # the requester's instructions, as data too
    head = remote.sha(BRANCH)
    assert head is not None and git(remote.bare, "rev-parse", f"{head}^") == first
    assert "--times N" in git(remote.bare, "show", f"{head}:docs/usage.md")
    assert len(github.pulls) == 1 and statuses_for(github, head) == ["pending"]
    (result,) = result_comments(github)
    assert "@rita on `docs/usage.md` line 3" in result
    assert "done: changed `docs/usage.md` \\+1 -0; documented --times in docs/usage.md" in result
    assert "@rita's review (changes requested)" in result and "done: kept the rest" in result
