"""A run's end reason may quote outside text (git's error, a refusal): the plan's status shows it inert."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from jobs.ledger import Ledger, RunState, RunView
from jobs.plan import Plan, PlanStep
from jobs.runs.finish import end_run
from jobs.runs.forge import Proposed
from jobs.runs.work import WorkResult
from jobs.runs.workflow import WorkItem
from sandbox.limits import Limits

pytestmark = pytest.mark.anyio


@dataclass
class RecordingForge:
    retry_hint: str = "`/steward retry` runs it again"
    statuses: list[str] = field(default_factory=list)
    told: list[str] = field(default_factory=list)

    async def show_plan(self, run: RunView, plan: Plan, status: str = "") -> None:
        self.statuses.append(status)

    async def tell(self, run: RunView, text: str) -> None:
        self.told.append(text)

    async def propose(self, run: RunView, plan: Plan, item: WorkItem, result: WorkResult) -> Proposed:
        raise AssertionError("nothing is proposed here")


@pytest.fixture
async def ledger(tmp_path) -> AsyncIterator[Ledger]:  # type: ignore[no-untyped-def]
    opened = await Ledger.connect(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")
    yield opened
    await opened.close()


async def test_a_hostile_reason_is_inert_in_the_plan_status(ledger: Ledger) -> None:
    run = await ledger.create_run("octo/widgets", 12, "docs", actor="alice", event="issue_comment")
    await ledger.transition(run.id, RunState.PLANNING, actor="worker", reason="job started")
    step = PlanStep(id="changelog", title="Add an entry", detail="CHANGELOG.md")
    plan = Plan(
        workflow="docs", number=12, steps=[step], paths=["*.md"], limits=Limits(),
        permissions={"contents": "write"}, base_sha="a" * 40,
    )  # fmt: skip
    await ledger.set_plan(run.id, plan)
    forge = RecordingForge()
    reason = (
        "the clone failed: fatal: ping @octocat <img src=x onerror=alert(1)> at https://evil.example/"
        + "x" * 400
    )

    ended = await end_run(ledger, forge, await ledger.require_run(run.id), RunState.FAILED, reason)

    assert ended.state is RunState.FAILED
    (status,) = forge.statuses
    assert status.startswith("the clone failed: fatal: ping")
    assert "`@octocat`" in status and " @octocat" not in status
    assert "<img" not in status
    assert "`https://evil.example/" in status
    assert len(status) <= 220  # bounded, as the line was before
