"""`workflows.docs.on: [merged, closed]`: a merged pull request, or an issue closed as completed, starts one
docs run by the path `/steward docs` takes (role check, approval rule, noise limits), and nothing else does.

Real payloads through the real router, a real arq worker on real Redis, a real SQLite ledger and real git;
GitHub's HTTP mocked with respx (tests/run_fixtures.py). There is no `issues/closed` example among GitHub's
published payloads: the issue event is the `reopened` example made what the `issues$closed` schema requires
(`state: closed`, `closed_at`), with GitHub's `state_reason`.
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
from jobs.ledger import RunState
from tests.conftest import load_payload
from tests.run_fixtures import INSTALLATION_ID, MAINTAINER, SAMPLE, FakeRunGitHub, runs
from tests.worker_support import enqueue, run_burst

pytestmark = pytest.mark.anyio
PULL = 12
ISSUE = 7
CLOSED_AT = "2026-11-21T09:00:00Z"
ON = "    on: [merged, closed]\n"
LIMIT = "<!-- steward:limit -->"
JOBS = itertools.count()


def merged_event(
    merged: bool = True, head: str = "feature/flags", sender: str = MAINTAINER
) -> dict[str, Any]:
    """The real pull_request.closed example, merged (or not) by `sender`."""
    payload = copy.deepcopy(load_payload("pull_request", "closed"))
    payload["number"] = PULL
    pull = payload["pull_request"]
    pull.update(number=PULL, merged=merged, closed_at=CLOSED_AT, merged_at=CLOSED_AT if merged else None)
    pull["head"]["ref"] = head
    payload["sender"].update({"login": sender, "type": "User"})
    payload["installation"] = {"id": INSTALLATION_ID}
    return payload


def issue_closed_event(reason: str | None, sender: str = MAINTAINER, at: str = CLOSED_AT) -> dict[str, Any]:
    payload = copy.deepcopy(load_payload("issues", "reopened"))
    payload["action"] = "closed"
    payload["issue"].update(number=ISSUE, state="closed", state_reason=reason, closed_at=at)
    payload["sender"].update({"login": sender, "type": "User"})
    payload["installation"] = {"id": INSTALLATION_ID}
    return payload


async def deliver(settings: Settings, event: str, payload: dict[str, Any], delivery_id: str) -> list[str]:
    """As the edge does: parse once, route, enqueue what the docs trigger asks for; then run the worker. The
    same delivery again gets a new job id here (as a job that ran and expired would), so only the worker's
    own idempotency can keep it to one run. Returns the reasons the router gave."""
    router = build_router(settings)
    delivery = Delivery(event, delivery_id, router.model_for(event).model_validate_json(json.dumps(payload)))
    for spec in router.dispatch(delivery):
        if spec.function == "docs_on_landed":
            assert spec.job_id == f"landed:{delivery_id}"
            await enqueue(settings, spec.function, f"{spec.job_id}:{next(JOBS)}", **spec.kwargs)
    await run_burst(settings)
    return delivery.reasons


def closed_by_commit(sha: str | None) -> dict[str, Any]:
    """A `closed` event of GET /issues/{n}/timeline as GitHub documents it (commit_id: the commit whose
    "Fixes #N" closed it, or null when a person closed it by hand)."""
    return {
        "id": 6430295168, "node_id": "CE_lADOA", "event": "closed", "commit_id": sha,
        "commit_url": f"https://api.github.com/repos/Codertocat/Hello-World/commits/{sha}" if sha else None,
        "url": "https://api.github.com/repos/Codertocat/Hello-World/issues/events/6430295168",
        "actor": {"login": MAINTAINER, "id": 1, "type": "User"}, "created_at": CLOSED_AT,
        "state_reason": "completed", "performed_via_github_app": None,
    }  # fmt: skip


def configure(github: FakeRunGitHub, extra: str = ON) -> None:
    github.files[".github/steward.yml"] = (SAMPLE / ".github" / "steward.yml").read_text() + extra


async def test_it_is_off_by_default(settings: Settings, github: FakeRunGitHub, api: respx.MockRouter) -> None:
    await deliver(settings, "pull_request", merged_event(), "d-1")
    await deliver(settings, "issues", issue_closed_event("completed"), "d-2")
    assert await runs(settings, PULL) == [] and await runs(settings, ISSUE) == []
    assert not github.bot_comments(PULL) and not github.bot_comments(ISSUE)


async def test_a_merge_starts_one_run_under_the_approval_rule_and_a_redelivery_nothing_more(
    settings: Settings, github: FakeRunGitHub, api: respx.MockRouter
) -> None:
    configure(github)
    for _ in range(2):  # the same delivery twice
        await deliver(settings, "pull_request", merged_event(), "d-merge")
    (run,) = await runs(settings, PULL)
    assert run.workflow == "docs" and run.actor == MAINTAINER and run.event == f"merged by {MAINTAINER}"
    assert run.delivery_id == "d-merge" and run.state == RunState.AWAITING_APPROVAL  # approval required
    (plan,) = github.plan_comments(PULL)
    assert "state **awaiting approval**" in plan["body"] and f"@{MAINTAINER}" in plan["body"]


async def test_a_pull_request_closed_unmerged_or_opened_by_steward_starts_nothing(
    settings: Settings, github: FakeRunGitHub, api: respx.MockRouter
) -> None:
    configure(github)
    reasons = await deliver(settings, "pull_request", merged_event(merged=False), "d-1")
    assert "no docs run: a pull request closed without merging" in reasons
    reasons = await deliver(settings, "pull_request", merged_event(head="steward/docs/7"), "d-2")
    assert "no docs run: a pull request Steward opened" in reasons
    assert await runs(settings, PULL) == [] and not github.bot_comments(PULL)


async def test_an_issue_closed_as_completed_starts_one_run_and_other_closes_none(
    settings: Settings, github: FakeRunGitHub, api: respx.MockRouter
) -> None:
    configure(github)
    for reason in ("not_planned", "duplicate", None):
        reasons = await deliver(settings, "issues", issue_closed_event(reason), f"d-{reason}")
        assert "no docs run: an issue closed, but not as completed" in reasons
    assert await runs(settings, ISSUE) == []
    await deliver(settings, "issues", issue_closed_event("completed"), "d-done")
    await deliver(settings, "issues", issue_closed_event("completed"), "d-done")
    (run,) = await runs(settings, ISSUE)
    assert run.event == f"closed by {MAINTAINER}" and run.state == RunState.AWAITING_APPROVAL
    assert len(github.plan_comments(ISSUE)) == 1


async def test_only_the_trigger_listed_starts_a_run_and_only_for_someone_the_command_allows(
    settings: Settings, github: FakeRunGitHub, api: respx.MockRouter
) -> None:
    configure(github, "    on: [merged]\n")
    await deliver(settings, "issues", issue_closed_event("completed"), "d-1")
    assert await runs(settings, ISSUE) == []
    configure(github)
    await deliver(settings, "issues", issue_closed_event("completed", sender="tom"), "d-2")  # triage
    assert await runs(settings, ISSUE) == [], "`/steward docs` needs write; so does its trigger"
    assert not github.bot_comments(ISSUE)


async def test_the_noise_limit_holds_a_landing_as_it_holds_the_command(
    settings: Settings, github: FakeRunGitHub, api: respx.MockRouter
) -> None:
    configure(github, ON + "noise:\n  runs_per_day: 0\n")
    await deliver(settings, "pull_request", merged_event(), "d-1")
    await deliver(settings, "pull_request", merged_event(), "d-1")
    assert await runs(settings, PULL) == []
    (note,) = [body for body in github.bot_comments(PULL) if body.startswith(LIMIT)]
    assert "noise limit of runs a day (0 of 0)" in note


async def test_an_issue_a_merged_pull_request_closed_is_left_to_the_merge_when_both_are_listed(
    settings: Settings, github: FakeRunGitHub, api: respx.MockRouter
) -> None:
    """Merging a pull request that says "Fixes #7" is two events; with both triggers, one run (the pull
    request's). With only `closed`, the issue's close starts its own."""
    configure(github)
    github.timeline[ISSUE] = [
        closed_by_commit(None),
        closed_by_commit("6dcb09b5b57875f334f61aebed695e2e4193db5e"),
    ]
    await deliver(settings, "issues", issue_closed_event("completed"), "d-1")
    assert await runs(settings, ISSUE) == [] and api["timeline"].called
    configure(github, "    on: [closed]\n")
    await deliver(settings, "issues", issue_closed_event("completed"), "d-2")
    (run,) = await runs(settings, ISSUE)
    assert run.event == f"closed by {MAINTAINER}"
