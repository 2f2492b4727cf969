"""Real payloads through the real router: the jobs asked for, their deterministic ids and their arguments."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from app.events import (
    Envelope,
    InstallationEvent,
    InstallationRepositoriesEvent,
    IssueCommentEvent,
    IssuesEvent,
    PullRequestEvent,
    PullRequestReviewCommentEvent,
    PullRequestReviewEvent,
)
from app.handlers import build_router
from app.router import Delivery, JobSpec
from app.settings import Settings
from tests.conftest import WEBHOOK_EXAMPLES, command_comment, load_payload

INSTALLATION = {"id": 4242, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg=="}


def route(
    settings: Settings, event: str, payload: dict[str, Any], delivery: str = "delivery-1"
) -> list[JobSpec]:
    router = build_router(settings)
    parsed = router.model_for(event).model_validate_json(json.dumps(payload))  # as the edge parses a body
    return router.dispatch(Delivery(event, delivery, parsed))


def installed(payload: dict[str, Any]) -> dict[str, Any]:
    """A repository example as an App receives it: GitHub adds the installation to App deliveries."""
    return {**payload, "installation": INSTALLATION}


def test_routes_are_the_ones_steward_handles(settings: Settings) -> None:
    assert build_router(settings).routes() == [
        ("installation", None),
        ("installation_repositories", None),
        ("issue_comment", "created"),
        ("issues", "closed"),
        ("issues", "deleted"),
        ("issues", "edited"),
        ("issues", "labeled"),
        ("issues", "opened"),
        ("issues", "reopened"),
        ("issues", "transferred"),
        ("issues", "unlabeled"),
        ("pull_request", "closed"),
        ("pull_request", "edited"),
        ("pull_request", "opened"),
        ("pull_request", "reopened"),
        ("pull_request", "synchronize"),
        ("pull_request_review", "submitted"),
        ("pull_request_review_comment", "created"),
    ]


def test_new_comment_becomes_one_comment_job(settings: Settings) -> None:
    payload = command_comment("Thanks, checking.\n/steward status")
    [job] = route(settings, "issue_comment", payload)
    assert job.function == "handle_comment"
    assert job.job_id == f"comment:{payload['repository']['id']}:{payload['comment']['id']}"
    assert set(job.kwargs) == {"delivery_id", "event"}
    assert job.kwargs["delivery_id"] == "delivery-1"
    event = IssueCommentEvent.model_validate(job.kwargs["event"])
    assert event.comment.body == payload["comment"]["body"]
    assert event.installation is not None and event.installation.id == payload["installation"]["id"]


@pytest.mark.parametrize(
    "author",
    [
        {"login": "steward[bot]", "type": "Bot"},
        {"login": "dependabot[bot]", "type": "Bot"},
        {"login": "some-ci", "type": "Bot"},
        {"login": "Steward-Custom", "type": "User"},
    ],
    ids=["steward", "other-app", "bot-type", "configured-login"],
)
def test_bot_comments_make_no_jobs(settings: Settings, author: dict[str, str]) -> None:
    payload = copy.deepcopy(load_payload("issue_comment", "created.with-installation"))
    payload["comment"]["user"].update(author)
    custom = settings.model_copy(update={"bot_login": "steward-custom"})
    assert route(custom, "issue_comment", payload) == []


@pytest.mark.parametrize(
    ("author", "jobs"),
    [({"login": "renovate[bot]", "type": "Bot"}, 1), ({"login": "steward-custom", "type": "Bot"}, 0)],
    ids=["other-bot-may-be-allowed", "own-comment"],
)
def test_bot_comment_holding_a_command_reaches_the_worker(
    settings: Settings, author: dict[str, str], jobs: int
) -> None:
    """Only the worker knows a repository's `allowed_bots`; Steward's own comments never pass."""
    payload = copy.deepcopy(load_payload("issue_comment", "created.with-installation"))
    payload["comment"]["user"].update(author)
    payload["comment"]["body"] = "Thanks!\n  /steward help\n"
    custom = settings.model_copy(update={"bot_login": "steward-custom"})
    assert len(route(custom, "issue_comment", payload)) == jobs


@pytest.mark.parametrize(
    "body",
    ["You are totally right! I'll get this fixed right away.", "Try `/steward help` next time.", "", "a / b"],
    ids=["conversation", "command-mid-line", "empty", "slash-mid-line"],
)
def test_comment_that_cannot_hold_a_command_makes_no_job(settings: Settings, body: str) -> None:
    """No line starts with "/", so no prefix can match: the worker would only mint a token to find nothing."""
    assert route(settings, "issue_comment", command_comment(body)) == []


def test_comment_without_installation_is_ignored(settings: Settings) -> None:
    assert route(settings, "issue_comment", command_comment(name="created")) == []
    assert len(route(settings, "issue_comment", installed(command_comment(name="created")))) == 1


@pytest.mark.parametrize("name", ["edited", "deleted"])
def test_edited_and_deleted_comments_make_no_jobs(settings: Settings, name: str) -> None:
    assert route(settings, "issue_comment", installed(load_payload("issue_comment", name))) == []


@pytest.mark.parametrize("name", ["opened", "opened.with-empty-body", "opened.with-organization"])
def test_opened_issue_queues_triage(settings: Settings, name: str) -> None:
    payload = installed(load_payload("issues", name))
    [job] = route(settings, "issues", payload)
    assert job.function == "triage_duplicates"
    assert job.job_id == f"triage:{payload['repository']['id']}:{payload['issue']['number']}"
    assert job.kwargs["kind"] == "issue"
    assert IssuesEvent.model_validate(job.kwargs["event"]).issue.title == payload["issue"]["title"]


def test_opened_pull_request_queues_triage(settings: Settings) -> None:
    payload = load_payload("pull_request", "opened")
    jobs = route(settings, "pull_request", payload)
    assert [job.function for job in jobs] == ["triage_duplicates", "check_config"]
    job = jobs[0]
    assert job.job_id == f"triage:{payload['repository']['id']}:{payload['pull_request']['number']}"
    assert set(job.kwargs) == {"delivery_id", "event", "kind"}
    assert job.kwargs["kind"] == "pull_request"
    event = PullRequestEvent.model_validate(job.kwargs["event"])
    assert event.pull_request.head is not None
    assert event.pull_request.head.sha == payload["pull_request"]["head"]["sha"]


def test_closed_pull_request_makes_no_triage(settings: Settings) -> None:
    jobs = route(settings, "pull_request", load_payload("pull_request", "closed"))
    assert [job.function for job in jobs] == ["index_event"]  # the duplicate index notes the close


@pytest.mark.parametrize(
    ("event", "model"),
    [("installation", InstallationEvent), ("installation_repositories", InstallationRepositoriesEvent)],
)
def test_every_installation_change_is_synced(settings: Settings, event: str, model: type[Envelope]) -> None:
    examples = sorted((WEBHOOK_EXAMPLES / event).glob("*.json"))
    assert examples
    for path in examples:
        payload = json.loads(path.read_text())
        [job] = route(settings, event, payload, delivery=f"d-{path.stem}")
        assert job.function == "sync_installation"
        assert job.job_id == f"installation:d-{path.stem}"
        assert job.kwargs["event_name"] == event
        assert set(job.kwargs) == {"delivery_id", "event_name", "event"}
        synced = model.model_validate(job.kwargs["event"])
        assert synced.installation is not None
        assert synced.installation.id == payload["installation"]["id"]
        assert synced.action == payload["action"]


def test_repositories_added_carry_their_ids(settings: Settings) -> None:
    payload = load_payload("installation_repositories", "added")
    [job] = route(settings, "installation_repositories", payload)
    event = InstallationRepositoriesEvent.model_validate(job.kwargs["event"])
    assert [r.id for r in event.repositories_added] == [r["id"] for r in payload["repositories_added"]]


def test_submitted_review_is_routed(settings: Settings) -> None:
    payload = load_payload("pull_request_review", "submitted")
    [job] = route(settings, "pull_request_review", payload)
    assert job.function == "review_submitted"
    assert job.job_id == f"review:{payload['review']['id']}"
    event = PullRequestReviewEvent.model_validate(job.kwargs["event"])
    assert event.review.state == payload["review"]["state"]
    assert route(settings, "pull_request_review", load_payload("pull_request_review", "dismissed")) == []


def test_a_review_line_comment_that_may_hold_a_command_becomes_one_job(settings: Settings) -> None:
    payload = load_payload("pull_request_review_comment", "created")
    assert route(settings, "pull_request_review_comment", payload) == []  # conversation: no job
    payload["comment"]["body"] = "Agreed.\n/steward revise keep it short"
    [job] = route(settings, "pull_request_review_comment", payload)
    assert job.function == "handle_review_comment"
    assert job.job_id == f"review-comment:{payload['repository']['id']}:{payload['comment']['id']}"
    event = PullRequestReviewCommentEvent.model_validate(job.kwargs["event"])
    assert event.comment.pull_request_review_id == payload["comment"]["pull_request_review_id"]
    assert event.pull_request.number == payload["pull_request"]["number"]
    payload["comment"]["user"]["login"] = settings.bot_login
    assert route(settings, "pull_request_review_comment", payload) == []  # Steward's own


def test_unhandled_events_make_no_jobs(settings: Settings) -> None:
    routed = {
        "issue_comment",
        "issues",
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "installation",
        "installation_repositories",
    }
    for folder in sorted(p for p in WEBHOOK_EXAMPLES.iterdir() if p.is_dir() and p.name not in routed):
        for path in folder.glob("*.json"):
            payload = json.loads(path.read_text())
            assert route(settings, folder.name, installed(payload)) == [], path


def test_a_push_to_another_branchs_pull_request_gets_the_config_check_and_index_upkeep(
    settings: Settings,
) -> None:
    payload = load_payload("pull_request", "synchronize")
    payload["pull_request"]["head"]["ref"] = "feature/x"
    delivery = Delivery("pull_request", "d-1", PullRequestEvent.model_validate(payload))
    jobs = build_router(settings).dispatch(delivery)
    functions = [job.function for job in jobs]
    assert functions == ["index_event", "check_config"]  # the review gate is for steward/ branches only
    assert delivery.reasons == ["not a pull request from a steward/ branch"]
