"""What the ledger records about a run, what it answers, and how it reads on a terminal."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from app.cli import app
from jobs.ledger import ApprovalDecision, Ledger, RunNotFound, RunState
from jobs.ledger.recording import recorded
from jobs.ledger.records import OUTPUT_EXCERPT_CHARS
from jobs.ledger.render import format_age, render_timeline
from jobs.ledger.views import utcnow
from jobs.plan import Plan, PlanStep
from sandbox.base import CommandResult
from sandbox.limits import Limits
from tests.postgres import db_url  # noqa: F401

pytestmark = pytest.mark.anyio
S = RunState
REPO = "octo/widgets"


@pytest.fixture
async def ledger(db_url: str) -> AsyncIterator[Ledger]:  # noqa: F811
    opened = await Ledger.connect(db_url)
    yield opened
    await opened.close()


def sample_plan() -> Plan:
    return Plan(
        workflow="docs",
        number=12,
        steps=[
            PlanStep(id="changelog", title="Add a changelog entry", detail="CHANGELOG.md"),
            PlanStep(id="exec-1", title="Refresh README block", detail="steward --help", ticked=False),
        ],
        paths=["docs/**", "*.md"],
        limits=Limits(),
        permissions={"contents": "write", "pull_requests": "write"},
        base_sha="a" * 40,
    )


async def full_run(ledger: Ledger) -> str:
    run = await ledger.create_run(
        REPO, 12, "docs", actor="alice", event="issue_comment", instructions="be brief"
    )
    await ledger.transition(run.id, S.PLANNING, actor="worker", reason="job started")
    await ledger.set_plan(run.id, sample_plan())
    await ledger.update_run(
        run.id, plan_comment_id=555, sandbox_image="steward-sandbox:0.1.0", sandbox_digest="sha256:beef"
    )
    await ledger.transition(run.id, S.AWAITING_APPROVAL, actor="worker", reason="plan posted")
    await ledger.record_approval(
        run.id, "eve", ApprovalDecision.REFUSED, role="triage", reason="needs maintain"
    )
    await ledger.record_approval(
        run.id,
        "bob",
        ApprovalDecision.ACCEPTED,
        role="maintain",
        steps_kept=["changelog"],
        steps_dropped=["exec-1"],
    )
    await ledger.transition(run.id, S.RUNNING, actor="bob", reason="approved")
    await ledger.record_step(run.id, "changelog", "edit CHANGELOG.md", 0, "added 1 entry\n", duration=0.25)
    await ledger.record_step(
        run.id, "exec", "sleep 100", 137, b"partial\n", duration=5.0, kill_reason="wall timeout"
    )
    await ledger.add_cost(run.id, cpu_seconds=1.5, wall_seconds=7.25)
    await ledger.add_cost(run.id, cpu_seconds=0.5, wall_seconds=0.75, tool_calls=2)
    await ledger.record_proposal(
        run.id,
        "steward/docs/12",
        "c" * 40,
        diff_stat=" CHANGELOG.md | 2 ++\n",
        files=["CHANGELOG.md"],
        pr_number=13,
        pr_url="https://github.com/octo/widgets/pull/13",
    )
    await ledger.transition(run.id, S.PROPOSED, actor="worker", reason="PR #13 opened")
    return run.id


async def test_trace_holds_plan_steps_approvals_proposal_and_costs(ledger: Ledger) -> None:
    run_id = await full_run(ledger)
    trace = await ledger.trace(run_id)
    run = trace.run
    assert run.plan == sample_plan() and run.base_sha == "a" * 40 and run.plan_comment_id == 555
    assert (run.cpu_seconds, run.wall_seconds, run.tool_calls) == (2.0, 8.0, 2)
    assert (run.branch, run.pr_number) == ("steward/docs/12", 13)
    assert [(s.seq, s.exit_code, s.kill_reason) for s in trace.steps] == [
        (1, 0, None),
        (2, 137, "wall timeout"),
    ]
    assert trace.steps[0].output_digest == hashlib.sha256(b"added 1 entry\n").hexdigest()
    assert [(a.actor, a.decision) for a in trace.approvals] == [("eve", "refused"), ("bob", "accepted")]
    assert trace.approvals[1].steps_dropped == ["exec-1"]
    assert trace.proposals[0].files == ["CHANGELOG.md"]


async def test_long_output_is_bounded_and_digested_whole(ledger: Ledger) -> None:
    run = await ledger.create_run(REPO, 1, "docs", actor="alice")
    output = "".join(f"line {i}\n" for i in range(5000))
    step_id = await ledger.add_step(run.id, "help", "steward --help")
    step = await ledger.finish_step(step_id, 0, output)
    assert len(step.output_excerpt) < OUTPUT_EXCERPT_CHARS + 100
    assert step.output_excerpt.startswith("line 0\n") and step.output_excerpt.endswith("line 4999\n")
    assert "characters cut" in step.output_excerpt
    assert step.output_digest == hashlib.sha256(output.encode()).hexdigest()
    assert step.output_bytes == len(output) and step.duration is not None and step.duration >= 0


async def test_timeline_reads_as_the_story_of_the_run(ledger: Ledger) -> None:
    text = render_timeline(await ledger.trace(await full_run(ledger)))
    for expected in [
        "queued -> planning",
        "planning -> awaiting_approval",
        "awaiting_approval -> running",
        "running -> proposed",
        "by bob: approved",
        "refused by eve (triage): needs maintain",
        "accepted by bob (maintain); dropped exec-1",
        "[x] changelog",
        "[ ] exec-1",
        "exit 137, 5.00s",
        "KILLED: wall timeout",
        "steward/docs/12 @ cccccccccccc",
        "CHANGELOG.md | 2 ++",
        "8.00s wall",
        "steward-sandbox:0.1.0 sha256:beef",
        "instructions:   'be brief'",  # labels padded to one width
    ]:
        assert expected in text, expected


async def test_status_queries(ledger: Ledger) -> None:
    docs = await ledger.create_run(REPO, 5, "docs", actor="alice")
    await ledger.create_run(REPO, 6, "docs", actor="alice")
    await ledger.create_run("octo/other", 5, "docs", actor="alice")
    assert (await ledger.active_run(REPO, 5, "docs")) == docs
    assert await ledger.active_run(REPO, 5, "tests") is None
    await ledger.transition(docs.id, S.CANCELLED, actor="bob", reason="/steward cancel")
    assert await ledger.active_run(REPO, 5, "docs") is None
    assert (await ledger.last_retryable(REPO, 5)) == await ledger.require_run(docs.id)
    again = await ledger.retry(docs.id, actor="bob")
    assert await ledger.last_retryable(REPO, 5) is None  # already retried
    assert [r.id for r in await ledger.runs_for(REPO, 5)] == [again.id, docs.id]
    assert [r.id for r in await ledger.runs_in(REPO, 5, [S.QUEUED])] == [again.id]
    assert {r.repo for r in await ledger.list_runs(repo=REPO)} == {REPO}
    assert [r.id for r in await ledger.list_runs(state=S.CANCELLED)] == [docs.id]
    assert len(await ledger.list_runs(limit=2)) == 2
    assert await ledger.get_run("r-missing") is None
    with pytest.raises(RunNotFound):
        await ledger.trace("r-missing")


async def test_idempotency_key_returns_the_same_run(ledger: Ledger) -> None:
    first = await ledger.create_run(REPO, 9, "docs", actor="alice", idempotency_key="comment:77:0")
    second = await ledger.create_run(REPO, 9, "docs", actor="alice", idempotency_key="comment:77:0")
    assert first.id == second.id and len(await ledger.runs_for(REPO, 9)) == 1


async def test_noise_counts(ledger: Ledger) -> None:
    runs = [await ledger.create_run(REPO, n, "docs", actor="alice") for n in (1, 2, 3)]
    await ledger.create_run("octo/other", 1, "docs", actor="alice")
    for step in (S.PLANNING, S.RUNNING, S.PROPOSED):
        await ledger.transition(runs[0].id, step, actor="worker")
    counts = await ledger.noise_counts(REPO)
    assert (counts.runs_in_window, counts.open_proposed) == (3, 1)
    assert counts.window_resets_at == runs[0].created_at + timedelta(days=1)
    later = await ledger.noise_counts(REPO, now=utcnow() + timedelta(days=1, seconds=5))
    assert (later.runs_in_window, later.window_resets_at) == (0, None)


def test_cli_lists_and_shows_runs(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    async def seed() -> str:
        ledger = await Ledger.connect(db_url)
        try:
            await ledger.create_run("octo/other", 3, "docs", actor="zed")
            return await full_run(ledger)
        finally:
            await ledger.close()

    run_id = asyncio.run(seed())
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    runner = CliRunner()
    listed = runner.invoke(app, ["runs", "list", "--repo", REPO, "--state", "proposed"])
    assert listed.exit_code == 0, listed.output
    assert run_id in listed.output and "octo/other" not in listed.output
    shown = runner.invoke(app, ["runs", "show", run_id])
    assert (
        shown.exit_code == 0
        and "running -> proposed" in shown.output
        and "KILLED: wall timeout" in shown.output
    )
    missing = runner.invoke(app, ["runs", "show", "r-nope"])
    assert missing.exit_code == 1 and "no run 'r-nope'" in missing.output


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (59, "59s"), (60, "1m"), (3599, "59m"), (7200, "2h"), (90000, "1d")]
)
def test_format_age(seconds: int, text: str) -> None:
    assert format_age(timedelta(seconds=seconds)) == text


async def test_recorded_runner_turns_each_command_into_a_step(ledger: Ledger) -> None:
    run = await ledger.create_run(REPO, 4, "docs", actor="alice")
    answers = {
        "tool --help": CommandResult(0, "usage\n", 0.5),
        "sleep 9": CommandResult(137, "", 3.0, killed_by="time", explanation="ran past 3 s"),
    }

    async def runner(argv: list[str]) -> CommandResult:
        if argv == ["boom"]:
            raise asyncio.CancelledError
        return answers[" ".join(argv)]

    run_cmd = recorded(runner, ledger, run.id)
    assert (await run_cmd(["tool", "--help"])).output == "usage\n"
    await run_cmd(["sleep", "9"])
    with pytest.raises(asyncio.CancelledError):
        await run_cmd(["boom"])
    steps = (await ledger.trace(run.id)).steps
    assert [(s.command, s.exit_code, s.duration, s.kill_reason) for s in steps] == [
        ("tool --help", 0, 0.5, None),
        ("sleep 9", 137, 3.0, "time: ran past 3 s"),
        ("boom", None, steps[2].duration, "aborted: CancelledError"),
    ]
    assert steps[0].output_digest == hashlib.sha256(b"usage\n").hexdigest()


async def test_agent_steps_keep_kind_tokens_cost_and_move_the_run_totals(ledger: Ledger) -> None:
    run = await ledger.create_run(REPO, 3, "docs", actor="alice")
    await ledger.record_agent_step(
        run.id, "model", "model", input_tokens=120, output_tokens=30, cost=0.004,
        detail={"response": {"parts": []}}, duration=0.2,
    )  # fmt: skip
    await ledger.record_agent_step(run.id, "tool", "write_file", refused=True, reason="path denied")
    trace = await ledger.trace(run.id)
    model, tool = trace.steps
    assert (model.step_kind, model.input_tokens, model.output_tokens) == ("model", 120, 30)
    assert model.detail == {"response": {"parts": []}} and model.cost == 0.004
    assert (tool.step_kind, tool.name, tool.refused, tool.kill_reason) == (
        "tool",
        "write_file",
        True,
        "path denied",
    )
    now = await ledger.require_run(run.id)
    assert (now.tool_calls, now.model_tokens) == (1, 150) and abs(now.cost_usd - 0.004) < 1e-9
