"""Approving a plan: who may, what a moved default branch does, and why a second approve changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
import respx

from app.settings import Settings
from jobs.commands import approve as approve_module
from jobs.db import make_engine, sessions
from jobs.ledger import ApprovalDecision, Ledger, RunState
from jobs.plan import Plan
from tests.run_fixtures import (
    APPROVER,
    BRANCH,
    MAINTAINER,
    SAMPLE,
    WRITER,
    FakeRunGitHub,
    Remote,
    replies,
    runs,
    say,
    trace_of,
)

pytestmark = pytest.mark.anyio


async def test_approval_below_the_level_is_refused_recorded_and_runs_nothing(
    settings: Settings, github: FakeRunGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    await say(settings, "/steward docs", MAINTAINER, 2001)
    await say(settings, "/steward approve", WRITER, 2002)
    (reply,) = replies(github)
    assert "`/steward approve` needs maintain access" in reply and "you have write" in reply
    (run,) = await runs(settings)
    assert run.state == RunState.AWAITING_APPROVAL
    trace = await trace_of(settings, run.id)
    assert [(a.actor, a.decision, a.role) for a in trace.approvals] == [
        (WRITER, ApprovalDecision.REFUSED, "write")
    ]
    assert not [step for step in trace.steps if step.name == "exec"]
    assert remote.sha(BRANCH) is None and not github.pulls


async def test_approval_after_the_default_branch_moved_is_refused_and_the_plan_remade(
    settings: Settings, github: FakeRunGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    await say(settings, "/steward docs", MAINTAINER, 2101)
    (run,) = await runs(settings)
    assert run.plan is not None
    old_base = run.plan.base_sha
    moved = remote.push_change("docs/extra.md", "# Extra\n")
    await say(settings, "/steward approve", APPROVER, 2102)
    (reply,) = replies(github)
    assert f"the default branch moved from {old_base[:12]} to {moved[:12]}" in reply
    (run,) = await runs(settings)
    assert run.state == RunState.AWAITING_APPROVAL and run.plan is not None
    assert run.plan.base_sha == moved
    (plan,) = github.plan_comments()
    assert f"`{moved[:12]}`" in plan["body"]
    trace = await trace_of(settings, run.id)
    assert [t.to_state for t in trace.transitions] == [
        RunState.QUEUED, RunState.PLANNING, RunState.AWAITING_APPROVAL,
        RunState.PLANNING, RunState.AWAITING_APPROVAL,
    ]  # fmt: skip
    assert trace.approvals[0].decision == ApprovalDecision.REFUSED
    assert remote.sha(BRANCH) is None and not github.pulls


@pytest.mark.docker
async def test_redelivered_command_and_double_approve_change_nothing(
    settings: Settings, github: FakeRunGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    await say(settings, "/steward docs", MAINTAINER, 2201)
    await say(settings, "/steward docs", MAINTAINER, 2201, job_suffix=":redelivered")
    assert len(await runs(settings)) == 1 and len(github.plan_comments()) == 1
    await say(settings, "/steward approve", APPROVER, 2202)
    head = remote.sha(BRANCH)
    await say(settings, "/steward approve", APPROVER, 2203)
    await say(settings, "/steward approve", APPROVER, 2202, job_suffix=":redelivered")
    (run,) = await runs(settings)
    assert run.state == RunState.PROPOSED
    assert len(github.pulls) == 1 and remote.sha(BRANCH) == head
    assert len(github.plan_comments()) == 1
    trace = await trace_of(settings, run.id)
    assert [a.decision for a in trace.approvals] == [ApprovalDecision.ACCEPTED]
    assert len([step for step in trace.steps if step.name == "exec"]) == 2
    assert (
        "there is no plan waiting for approval" in replies(github)[-1]
        or "No plan waits" in replies(github)[-1]
    )


async def test_the_requester_cannot_approve_their_own_plan_by_default(
    settings: Settings, github: FakeRunGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    """Like the review gate: `/steward docs` then `/steward approve` by the same person runs nothing."""
    await say(settings, "/steward docs", MAINTAINER, 2301)
    (plan,) = github.plan_comments()
    assert f"at least `maintain` access other than @{MAINTAINER}, who asked for it" in plan["body"]
    await say(settings, "/steward approve", MAINTAINER, 2302)
    (reply,) = replies(github)
    assert "you asked for this run, so someone else with `maintain` access approves it" in reply
    (run,) = await runs(settings)
    assert run.state == RunState.AWAITING_APPROVAL
    trace = await trace_of(settings, run.id)
    assert [(a.actor, a.decision, a.reason) for a in trace.approvals] == [
        (
            MAINTAINER,
            ApprovalDecision.REFUSED,
            "the requester's own approval (approval.allow_self is off)",
        )
    ]
    assert not [step for step in trace.steps if step.name == "exec"]
    assert remote.sha(BRANCH) is None and not github.pulls


@pytest.mark.docker
async def test_a_repository_may_let_the_requester_approve(
    settings: Settings, github: FakeRunGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    github.files[".github/steward.yml"] = (SAMPLE / ".github" / "steward.yml").read_text() + (
        "      allow_self: true\n"
    )
    await say(settings, "/steward docs", MAINTAINER, 2401)
    (plan,) = github.plan_comments()
    assert f"(@{MAINTAINER}, who asked for it, may approve too)" in plan["body"]
    await say(settings, "/steward approve", MAINTAINER, 2402)
    (run,) = await runs(settings)
    assert run.state == RunState.PROPOSED and len(github.pulls) == 1
    trace = await trace_of(settings, run.id)
    assert [(a.actor, a.decision) for a in trace.approvals] == [(MAINTAINER, ApprovalDecision.ACCEPTED)]


class WorkerDied(Exception):
    """Stands for the worker's death at that point: the command is tried again from the start."""


@pytest.mark.docker
@pytest.mark.parametrize("dies_at", ["show_plan", "enqueue_work"])
async def test_an_approval_cut_short_after_it_was_stored_is_finished_by_the_retry(
    settings: Settings,
    github: FakeRunGitHub,
    remote: Remote,
    api: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    dies_at: str,
) -> None:
    """The approval is stored with the move to running; the worker dies before the work is queued. Tried
    again, the same approval finishes what followed it (before, the retry found the run running, said so,
    and the run stayed running with no work queued: no pull request, ever)."""
    await say(settings, "/steward docs", MAINTAINER, 2501)
    original = getattr(approve_module, dies_at)
    died: list[str] = []

    async def dies_once(*args: Any, **kwargs: Any) -> Any:
        if not died:
            died.append(dies_at)
            raise WorkerDied(dies_at)
        return await original(*args, **kwargs)

    monkeypatch.setattr(approve_module, dies_at, dies_once)
    await say(settings, "/steward approve", APPROVER, 2502)
    await say(settings, "/steward approve", APPROVER, 2502, job_suffix=":redelivered")
    assert died == [dies_at]
    (run,) = await runs(settings)
    assert run.state == RunState.PROPOSED, run.state
    assert len(github.pulls) == 1 and remote.sha(BRANCH) is not None
    trace = await trace_of(settings, run.id)
    assert [(a.actor, a.decision) for a in trace.approvals] == [(APPROVER, ApprovalDecision.ACCEPTED)]
    assert sum(f"Approved by @{APPROVER}" in reply for reply in replies(github)) == 1
    assert len(github.plan_comments()) == 1


async def test_a_plan_remade_while_the_approval_read_its_boxes_is_not_overwritten(
    settings: Settings,
    github: FakeRunGitHub,
    remote: Remote,
    api: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Between the approval's read of the plan and its move to running, the plan is remade (another
    approval found the default branch moved): the old plan is not stored over the new one nor approved."""
    await say(settings, "/steward docs", MAINTAINER, 2601)
    original = approve_module.ticked_now
    remade: list[Plan] = []

    async def remake_then_read(*args: Any, **kwargs: Any) -> Any:
        engine = make_engine(settings.db_url)
        try:
            ledger = Ledger(sessions(engine))
            (run,) = await ledger.runs_for("Codertocat/Hello-World", 7)
            assert run.plan is not None
            remade.append(run.plan.model_copy(update={"base_sha": "b" * 40}))
            await ledger.set_plan(run.id, remade[0])
        finally:
            await engine.dispose()
        return await original(*args, **kwargs)

    monkeypatch.setattr(approve_module, "ticked_now", remake_then_read)
    await say(settings, "/steward approve", APPROVER, 2602)
    (run,) = await runs(settings)
    assert remade and run.state == RunState.AWAITING_APPROVAL and run.plan == remade[0]
    (reply,) = replies(github)
    assert "was remade while" in reply and "nothing was approved" in reply
    trace = await trace_of(settings, run.id)
    assert not [a for a in trace.approvals if a.decision == ApprovalDecision.ACCEPTED]
    assert remote.sha(BRANCH) is None and not github.pulls
