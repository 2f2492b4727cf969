"""An approval is bound to the plan it approved: a change between the approval and the work (the config, the
ticked boxes) means it no longer counts, and the run asks again with the difference shown."""

from __future__ import annotations

import re
from typing import Any

import pytest
import respx

from app.config.model import DocsConfig
from app.settings import Settings
from jobs.commands import approve as approve_module
from jobs.ledger import ApprovalDecision, RunState
from jobs.plan import Plan, PlanStep
from jobs.runs.binding import as_it_stands, differences, digest
from jobs.runs.queue import PLAN_JOB, plan_job_id
from policies.loader import effective_policy, load_policy
from tests.run_fixtures import (
    APPROVER,
    BRANCH,
    MAINTAINER,
    FakeRunGitHub,
    Remote,
    runs,
    say,
    trace_of,
)
from tests.worker_support import enqueue, run_burst

pytestmark = pytest.mark.anyio
CONFIG = ".github/steward.yml"


def _plan(config: DocsConfig) -> Plan:
    policy = effective_policy(load_policy("docs"), config)
    return Plan(
        workflow="docs", number=7, base_sha="a" * 40,
        steps=[PlanStep(id="changelog", title="Add an entry"), PlanStep(id="block-1", title="Refresh")],
        paths=list(policy.writable), denied_paths=list(policy.denied), limits=policy.limits,
        permissions=dict(policy.permissions), approval_required=policy.approval.required,
        approval_level=policy.approval.level, approval_allow_self=config.approval.allow_self,
    )  # fmt: skip


def test_the_plan_as_it_stands_is_the_same_plan_when_nothing_changed() -> None:
    config = DocsConfig()
    plan = _plan(config)
    policy = effective_policy(load_policy("docs"), config)
    now = as_it_stands(plan, policy, config, None, {"changelog", "block-1"})
    assert digest(now) == digest(plan) and differences(plan, now) == []


@pytest.mark.parametrize(
    ("change", "ticked", "expected"),
    [
        (
            {"limits": {"memory": 512 * 1024**2}},
            {"changelog", "block-1"},
            "limits.memory: 1073741824 -> 536870912",
        ),
        ({"paths": ["CHANGELOG*"]}, {"changelog", "block-1"}, "paths:"),
        ({"approval": {"level": "admin"}}, {"changelog", "block-1"}, 'approval_level: "maintain" -> "admin"'),
        ({"engine": "agent"}, {"changelog", "block-1"}, 'engine: "builtin" -> "agent"'),
        ({}, {"changelog"}, "steps.block-1.ticked: true -> false"),
    ],
)
def test_each_term_that_changes_breaks_the_digest_and_is_named(
    change: dict[str, Any], ticked: set[str], expected: str
) -> None:
    plan = _plan(DocsConfig())
    config = DocsConfig.model_validate(change)
    now = as_it_stands(plan, effective_policy(load_policy("docs"), config), config, None, ticked)
    assert digest(now) != digest(plan)
    assert any(line.startswith(expected) for line in differences(plan, now)), differences(plan, now)


def test_the_base_commit_and_the_model_are_bound_too() -> None:
    plan = _plan(DocsConfig())
    assert digest(plan) != digest(plan.model_copy(update={"base_sha": "b" * 40}))
    assert digest(plan) != digest(plan.model_copy(update={"permissions": {"contents": "write"}}))


def _between_approval_and_work(monkeypatch: pytest.MonkeyPatch, change: Any) -> None:
    """Run `change` once, right after `/steward approve` queues the work and before the work starts."""
    original = approve_module.enqueue_work
    done: list[bool] = []

    async def enqueue_then_change(redis: Any, run_id: str, *args: Any) -> Any:
        if not done:
            done.append(True)
            change()
        return await original(redis, run_id, *args)

    monkeypatch.setattr(approve_module, "enqueue_work", enqueue_then_change)


@pytest.mark.docker
async def test_a_config_change_after_approval_asks_again_with_the_difference(
    settings: Settings,
    github: FakeRunGitHub,
    remote: Remote,
    api: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await say(settings, "/steward docs", MAINTAINER, 3001)

    def lower_the_memory() -> None:
        github.files[CONFIG] += "    limits:\n      memory: 512m\n"

    _between_approval_and_work(monkeypatch, lower_the_memory)
    await say(settings, "/steward approve", APPROVER, 3002)
    (run,) = await runs(settings)
    assert run.state == RunState.AWAITING_APPROVAL and run.plan is not None
    assert run.plan.limits.memory == 512 * 1024**2  # the plan was remade under the new configuration
    assert remote.sha(BRANCH) is None and not github.pulls
    told = [body for body in github.bot_comments(7) if "no longer counts" in body]
    assert len(told) == 1 and f"@{APPROVER}'s approval" in told[0]
    assert "limits.memory: 1073741824 -> 536870912" in told[0]
    trace = await trace_of(settings, run.id)
    assert [a.decision for a in trace.approvals] == [ApprovalDecision.ACCEPTED, ApprovalDecision.REFUSED]
    assert len(trace.approvals[0].plan_digest) == 64
    assert [t.to_state for t in trace.transitions][-3:] == [
        RunState.RUNNING, RunState.PLANNING, RunState.AWAITING_APPROVAL,
    ]  # fmt: skip

    await say(settings, "/steward approve", APPROVER, 3003)  # the new plan, approved as it stands
    (run,) = await runs(settings)
    assert run.state == RunState.PROPOSED and remote.sha(BRANCH) is not None


@pytest.mark.docker
async def test_boxes_unticked_after_approval_ask_again(
    settings: Settings,
    github: FakeRunGitHub,
    remote: Remote,
    api: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await say(settings, "/steward docs", MAINTAINER, 3101)

    def untick_everything() -> None:
        (comment,) = github.plan_comments()
        comment["body"] = re.sub(r"- \[[xX]\]", "- [ ]", comment["body"])

    _between_approval_and_work(monkeypatch, untick_everything)
    await say(settings, "/steward approve", APPROVER, 3102)
    (run,) = await runs(settings)
    assert run.state == RunState.AWAITING_APPROVAL
    told = [body for body in github.bot_comments(7) if "no longer counts" in body]
    assert len(told) == 1 and ".ticked: true -> false" in told[0]
    assert remote.sha(BRANCH) is None and not github.pulls


class WorkerDied(Exception):
    """Stands for the worker's death right after the second approval was stored."""


@pytest.mark.docker
async def test_a_planning_job_retried_after_a_second_approval_queues_that_round_of_work(
    settings: Settings,
    github: FakeRunGitHub,
    remote: Remote,
    api: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first approval lapsed and its work job ended; the second is stored, then the worker dies before
    that round's work is queued. A retried planning job finds the run running and queues the second round's
    work (the first round's id is taken by the job that ended, so queueing it again would queue nothing)."""
    await say(settings, "/steward docs", MAINTAINER, 3201)

    def lower_the_memory() -> None:
        github.files[CONFIG] += "    limits:\n      memory: 512m\n"

    _between_approval_and_work(monkeypatch, lower_the_memory)
    await say(settings, "/steward approve", APPROVER, 3202)  # lapses: the plan is remade
    queue_work = approve_module.enqueue_work

    async def dies(*args: Any) -> Any:
        raise WorkerDied("after the approval was stored")

    monkeypatch.setattr(approve_module, "enqueue_work", dies)
    await say(settings, "/steward approve", APPROVER, 3203)
    (run,) = await runs(settings)
    trace = await trace_of(settings, run.id)
    accepted = [a for a in trace.approvals if a.decision == ApprovalDecision.ACCEPTED]
    assert run.state == RunState.RUNNING and len(accepted) == 2
    assert remote.sha(BRANCH) is None and not github.pulls  # no work of the second round ran

    monkeypatch.setattr(approve_module, "enqueue_work", queue_work)
    await enqueue(settings, PLAN_JOB, plan_job_id(run.id, "retried"), run_id=run.id)
    await run_burst(settings)
    (run,) = await runs(settings)
    assert run.state == RunState.PROPOSED, run.state
    assert remote.sha(BRANCH) is not None and len(github.pulls) == 1
