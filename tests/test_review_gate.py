"""The review gate: which reviews turn steward/review green, pushes reset it, closing ends the run.

Real router on real payloads, a real arq worker on real Redis, a real SQLite ledger; GitHub mocked with respx.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import respx

from app.handlers import build_router
from app.router import Delivery
from app.settings import Settings
from jobs.ledger import Ledger, RunState
from tests.conftest import load_payload
from tests.run_fixtures import (
    BRANCH,
    INSTALLATION_ID,
    MAINTAINER,
    REVIEWER,
    FakeRunGitHub,
    Remote,
    fake_github,
    git,
    make_remote,
    review_event,
    runs,
    statuses_for,
)
from tests.worker_support import enqueue, run_burst

pytestmark = pytest.mark.anyio
PR = 100


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    made = make_remote(tmp_path)
    git(made.dev, "push", "-q", "origin", f"HEAD:refs/heads/{BRANCH}")
    return made


@pytest.fixture
def github(remote: Remote) -> FakeRunGitHub:
    fake = fake_github(remote)
    fake.pulls.append(fake._pull_json(PR, BRANCH, "docs: update documentation for #7", "", "main"))
    return fake


async def proposed_run(settings: Settings, remote: Remote) -> str:
    """A run recorded as proposed in PR #100 (how it got there is the flow test's business)."""
    ledger = await Ledger.connect(settings.db_url)
    try:
        run = await ledger.create_run(
            "Codertocat/Hello-World", 7, "docs", actor=MAINTAINER, installation_id=INSTALLATION_ID
        )
        for state in (RunState.PLANNING, RunState.RUNNING, RunState.PROPOSED):
            await ledger.transition(run.id, state, actor="steward")
        head = remote.sha(BRANCH)
        assert head is not None
        await ledger.record_proposal(
            run.id, BRANCH, head, pr_number=PR, pr_url="https://github.com/x/pull/100"
        )
        return run.id
    finally:
        await ledger.close()


def pull_event(
    action: str, *, ref: str = BRANCH, sha: str = "0" * 40, merged: bool = False
) -> dict[str, Any]:
    payload = copy.deepcopy(
        load_payload("pull_request", "synchronize" if action == "synchronize" else "closed")
    )
    payload["action"] = action
    payload["number"] = PR
    payload["pull_request"].update({"number": PR, "merged": merged})
    payload["pull_request"]["head"].update({"ref": ref, "sha": sha})
    payload["installation"] = {"id": INSTALLATION_ID}
    return payload


def test_only_pull_requests_from_steward_branches_are_routed(settings: Settings) -> None:
    router = build_router(settings)

    def route(event: str, payload: dict[str, Any]) -> list[tuple[str, str]]:
        parsed = router.model_for(event).model_validate_json(json.dumps(payload))
        return [(spec.function, spec.job_id) for spec in router.dispatch(Delivery(event, "d", parsed))]

    sha = "a" * 40
    repo_id = load_payload("pull_request", "synchronize")["repository"]["id"]
    sync = route("pull_request", pull_event("synchronize", sha=sha))
    assert ("pull_synchronized", f"pr-sync:{repo_id}:{PR}:{sha}") in sync
    closed = route("pull_request", pull_event("closed", sha=sha, merged=True))
    assert ("pull_closed", f"pr-closed:{repo_id}:{PR}:{sha}") in closed
    assert not [f for f, _ in route("pull_request", pull_event("synchronize", ref="feature/x"))
                if f.startswith("pull_")]  # fmt: skip


async def review(settings: Settings, login: str, state: str, sha: str, key: str) -> None:
    await enqueue(settings, "review_submitted", f"review:{key}", delivery_id=key,
                  event=review_event(login, state, PR, sha))  # fmt: skip
    await run_burst(settings)


async def test_reviews_that_count_and_those_that_do_not(
    settings: Settings, github: FakeRunGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    await proposed_run(settings, remote)
    head = remote.sha(BRANCH)
    assert head is not None
    await review(settings, REVIEWER, "commented", head, "a")
    await review(settings, "tom", "approved", head, "b")  # triage: below write
    await review(settings, MAINTAINER, "approved", head, "c")  # asked for the run
    await review(settings, "steward[bot]", "approved", head, "d")
    await review(settings, REVIEWER, "approved", "b" * 40, "e")  # of an older commit
    assert statuses_for(github, head) == []
    await review(settings, REVIEWER, "approved", head, "f")
    assert statuses_for(github, head) == ["success"]
    await review(settings, "wes", "approved", head, "h")  # a second approval posts nothing more
    assert statuses_for(github, head) == ["success"]


async def test_requester_may_approve_when_the_configuration_says_so(
    settings: Settings, github: FakeRunGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    github.files[".github/steward.yml"] += "    requester_may_approve_review: true\n"
    await proposed_run(settings, remote)
    head = remote.sha(BRANCH)
    assert head is not None
    await review(settings, MAINTAINER, "approved", head, "g")
    assert statuses_for(github, head) == ["success"]


async def test_new_push_resets_to_pending_and_closing_ends_the_run(
    settings: Settings, github: FakeRunGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    run_id = await proposed_run(settings, remote)
    new = "c" * 40
    for attempt in ("s1", "s2"):  # the second as if redelivered after the job id expired
        await enqueue(settings, "pull_synchronized", f"pr-sync:1:{PR}:{new}:{attempt}", delivery_id=attempt,
                      event=pull_event("synchronize", sha=new))  # fmt: skip
        await run_burst(settings)
    assert statuses_for(github, new) == ["pending"]
    await enqueue(settings, "pull_closed", f"pr-closed:1:{PR}:{new}", delivery_id="c",
                  event=pull_event("closed", sha=new, merged=True))  # fmt: skip
    await run_burst(settings)
    (run,) = await runs(settings)
    assert run.id == run_id and run.state == RunState.MERGED


@pytest.mark.parametrize("workflow", ["docs", "tests"])
def test_every_writing_workflow_reads_its_own_requester_rule(workflow: str) -> None:
    from app.config.model import RepoConfig
    from jobs.runs.gate import _requester_may_approve

    on = RepoConfig.model_validate({"workflows": {workflow: {"requester_may_approve_review": True}}})
    assert _requester_may_approve(workflow, on) is True
    assert _requester_may_approve(workflow, RepoConfig()) is False
    other = "tests" if workflow == "docs" else "docs"
    assert _requester_may_approve(other, on) is False
