"""`/steward revise` written in a review's body or in a review's line comment starts the revision the
conversation command starts: the same role check and refusal, once per ask, however often it is delivered.

Real payloads (the pull_request_review.submitted and pull_request_review_comment.created examples) through the
real router, a real arq worker on real Redis, a real SQLite ledger, real Docker and git; GitHub's HTTP mocked
with respx (tests/revision_fixtures.py).
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest
import respx

from app.handlers import build_router
from app.router import Delivery
from app.settings import Settings
from tests.conftest import load_payload
from tests.revision_fixtures import PR, FakeReviewGitHub
from tests.run_fixtures import INSTALLATION_ID, MAINTAINER, ROLES, SAMPLE, WRITER, Remote, runs
from tests.test_revise import proposed
from tests.worker_support import enqueue, run_burst

pytestmark = [pytest.mark.anyio, pytest.mark.docker]
JOBS = itertools.count()


@pytest.fixture
def github(remote: Remote) -> FakeReviewGitHub:
    fake = FakeReviewGitHub(remote=remote)
    fake.permissions = dict(ROLES)
    fake.files[".github/steward.yml"] = (SAMPLE / ".github" / "steward.yml").read_text()
    return fake


def review_payload(body: str, login: str, review_id: int, state: str = "commented") -> dict[str, Any]:
    """The real pull_request_review.submitted example: a review of Steward's pull request."""
    payload = copy.deepcopy(load_payload("pull_request_review", "submitted"))
    payload["review"].update({"id": review_id, "state": state, "body": body})
    payload["review"]["user"].update({"login": login, "type": "User"})
    payload["pull_request"]["number"] = PR
    payload["installation"] = {"id": INSTALLATION_ID}
    return payload


def line_comment_payload(body: str, login: str, comment_id: int, review_id: int) -> dict[str, Any]:
    """The real pull_request_review_comment.created example: a line comment of a review of Steward's PR."""
    payload = copy.deepcopy(load_payload("pull_request_review_comment", "created"))
    payload["comment"].update({"id": comment_id, "body": body, "pull_request_review_id": review_id})
    payload["comment"]["user"].update({"login": login, "type": "User"})
    payload["pull_request"]["number"] = PR
    payload["installation"] = {"id": INSTALLATION_ID}
    return payload


async def deliver(settings: Settings, event: str, payload: dict[str, Any], delivery_id: str) -> list[str]:
    """As the edge does: parse once, route, enqueue every job (under a fresh job id, as after the first job's
    result expired), then run the worker; returns the functions queued."""
    router = build_router(settings)
    delivery = Delivery(event, delivery_id, router.model_for(event).model_validate_json(json.dumps(payload)))
    specs = router.dispatch(delivery)
    for spec in specs:
        await enqueue(settings, spec.function, f"{spec.job_id}:{next(JOBS)}", **spec.kwargs)
    await run_burst(settings)
    return [spec.function for spec in specs]


def replies_to(github: FakeReviewGitHub, source: str) -> list[str]:
    return [body for body in github.bot_comments(PR) if body.startswith(f"<!-- steward:reply {source}")]


async def test_revise_in_a_review_body_starts_one_revision_however_often_delivered(
    settings: Settings, github: FakeReviewGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    parent, first = await proposed(settings, github, remote)
    payload = review_payload("Looks close.\n\n/steward revise keep it short", MAINTAINER, 701)
    for _ in range(2):  # the same delivery twice
        assert await deliver(settings, "pull_request_review", payload, "d-review") == ["review_submitted"]
    (revision,) = await runs(settings, PR)
    assert revision.revision_of == parent.id and revision.actor == MAINTAINER
    assert revision.event == "/steward revise in a review" and revision.instructions == "keep it short"
    (plan,) = github.plan_comments(PR)
    assert f"**Revises:** run `{parent.id}` in #{PR}" in plan["body"] and f"`{first[:12]}`" in plan["body"]
    assert not replies_to(github, "review"), "the plan comment is the answer"

    # Its line comments are the same ask: the one revision, no second reply.
    comment = line_comment_payload("/steward revise", MAINTAINER, 801, review_id=701)
    assert await deliver(settings, "pull_request_review_comment", comment, "d-line") == [
        "handle_review_comment"
    ]
    assert [r.id for r in await runs(settings, PR)] == [revision.id]
    assert len(github.plan_comments(PR)) == 1 and not replies_to(github, "review-comment")


async def test_revise_in_a_line_comment_is_refused_below_the_level_and_other_commands_are_not_read(
    settings: Settings, github: FakeReviewGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    await proposed(settings, github, remote)
    comment = line_comment_payload(
        "/steward revise", WRITER, 802, review_id=702
    )  # write; docs needs maintain
    for _ in range(2):
        await deliver(settings, "pull_request_review_comment", comment, "d-low")
    (reply,) = replies_to(github, "review-comment-802:0")
    assert "@wes, a revision of this pull request needs `maintain` access" in reply
    assert "you have write. Nothing was started." in reply
    review = review_payload("/steward revise", "tom", 703)  # triage: below the command's own floor
    await deliver(settings, "pull_request_review", review, "d-tom")
    (floor,) = replies_to(github, "review-703:0")
    assert "`/steward revise` needs write access" in floor and "you have triage" in floor

    # In a review only the commands made for it are read: a docs command there is conversation.
    await deliver(settings, "pull_request_review", review_payload("/steward docs", MAINTAINER, 704), "d-docs")
    await deliver(settings, "pull_request_review_comment",
                  line_comment_payload("/steward help", MAINTAINER, 803, 705), "d-help")  # fmt: skip
    assert not replies_to(github, "review-704") and not replies_to(github, "review-comment-803")
    assert await runs(settings, PR) == []
    assert await deliver(settings, "pull_request_review_comment",
                         line_comment_payload("Nice.", MAINTAINER, 804, 706), "d-chat") == []  # fmt: skip


async def test_a_changes_requested_review_that_asks_is_answered_once(
    settings: Settings, github: FakeReviewGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    """With `revise_on: [changes_requested]` too, a "Request changes" review saying `/steward revise` is one
    ask: one revision, and a refusal said once."""
    await proposed(settings, github, remote)
    github.files[".github/steward.yml"] += "    revise_on: [changes_requested]\n"
    low = review_payload("/steward revise", WRITER, 711, state="changes_requested")
    await deliver(settings, "pull_request_review", low, "d-low")
    assert len([b for b in github.bot_comments(PR) if "needs `maintain` access" in b]) == 1
    assert await runs(settings, PR) == []
    asked = review_payload("/steward revise", MAINTAINER, 712, state="changes_requested")
    await deliver(settings, "pull_request_review", asked, "d-asked")
    (revision,) = await runs(settings, PR)
    assert revision.event == "/steward revise in a review" and len(github.plan_comments(PR)) == 1
