"""The local plan's prompt: end of input, Ctrl-C and "no" cancel the run; `e` or --skip drops steps."""

from __future__ import annotations

import asyncio
import os
import platform
import signal
import subprocess
import time
from pathlib import Path

import pytest

from jobs.ledger import ApprovalDecision, Ledger, RunState, RunTrace
from jobs.plan import Plan, PlanStep
from jobs.runs.local import cancelled_on_interrupt
from jobs.runs.localprompt import PROMPT, SkipError, ask, parse_skip
from tests.run_fixtures import GIT_ENV
from tests.test_local_run import ISSUE_JSON, STEWARD, checkout, steward


def plan_of(*ids: str) -> Plan:
    return Plan(
        workflow="docs", number=7, steps=[PlanStep(id=i, kind="edit", title=f"step {i}") for i in ids]
    )


def answers(*lines: str | BaseException):  # type: ignore[no-untyped-def]
    queue = list(lines)

    def read(prompt: str) -> str:
        item = queue.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    return read


@pytest.mark.parametrize(
    ("lines", "approved", "skipped", "reason"),
    [
        (["y"], True, set(), "confirmed on the terminal"),
        ([""], False, set(), "declined on the terminal"),
        (["no"], False, set(), "declined on the terminal"),
        ([EOFError()], False, set(), "end of input at the prompt"),
        ([KeyboardInterrupt()], False, set(), "interrupted (Ctrl-C) at the prompt"),
        (["e", "2", "y"], True, {"b"}, "confirmed on the terminal, skipping some steps"),
        (["e", "9", "a, c", "yes"], True, {"a", "c"}, "confirmed on the terminal, skipping some steps"),
        (["e", EOFError()], False, set(), "end of input at the prompt"),
        (["maybe", "n"], False, set(), "declined on the terminal"),
    ],
)
def test_the_prompt_reads_every_answer(
    lines: list[str | BaseException], approved: bool, skipped: set[str], reason: str
) -> None:
    said: list[str] = []
    answer = ask(plan_of("a", "b", "c"), answers(*lines), said.append)
    assert (answer.approved, set(answer.skipped), answer.reason) == (approved, skipped, reason)


def test_junk_forever_ends_cancelled() -> None:
    answer = ask(plan_of("a"), lambda prompt: "what", lambda _: None)
    assert not answer.approved and answer.reason == "no clear answer at the prompt"


@pytest.mark.parametrize(
    ("text", "error"), [("4", "not a step"), ("x", "not a step"), ("1,2,3", "skips every step")]
)
def test_a_bad_skip_says_what_is_wrong(text: str, error: str) -> None:
    with pytest.raises(SkipError, match=error):
        parse_skip(plan_of("a", "b", "c"), text)


def trace(tmp_path: Path) -> RunTrace:
    async def go() -> RunTrace:
        ledger = await Ledger.connect(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'steward.db'}")
        try:
            (run,) = await ledger.list_runs()
            return await ledger.trace(run.id)
        finally:
            await ledger.close()

    return asyncio.run(go())


@pytest.mark.docker
def test_end_of_input_at_the_prompt_cancels_the_run(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    env |= {**GIT_ENV, "STEWARD_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [STEWARD, "run", "docs", "--repo", str(repo), "--issue-json", str(ISSUE_JSON)],
        stdin=subprocess.DEVNULL, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1 and "end of input at the prompt" in done.stdout
    story = trace(tmp_path)
    assert story.run.state == RunState.CANCELLED
    assert story.transitions[-1].reason == "end of input at the prompt"
    assert story.approvals[-1].decision == ApprovalDecision.REFUSED


READ_SYSCALL = {"x86_64": "0", "aarch64": "63"}


def blocked_reading(pid: int, seconds: float = 30) -> None:
    """Wait until the process's main thread sits in read(0, ...) (Linux: /proc/PID/syscall)."""
    number = READ_SYSCALL.get(platform.machine())
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        fields = Path(f"/proc/{pid}/syscall").read_text().split()
        if number is None or fields[:2] == [number, "0x0"]:
            return
        time.sleep(0.05)
    raise AssertionError(f"the process never blocked reading its stdin: {fields}")


@pytest.mark.docker
def test_ctrl_c_at_the_prompt_cancels_the_run(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    env |= {**GIT_ENV, "STEWARD_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [STEWARD, "run", "docs", "--repo", str(repo), "--issue-json", str(ISSUE_JSON)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        seen, deadline = "", time.monotonic() + 90
        while PROMPT.strip() not in seen and time.monotonic() < deadline:
            seen += os.read(proc.stdout.fileno(), 4096).decode()
        assert PROMPT.strip() in seen
        # Ctrl-C while the prompt waits for a line: a signal that came between the prompt's write and its
        # read would only be seen once the read returned, and closing stdin too would then read as end of
        # input (CI saw exit 1 once). So wait until the process blocks reading, and keep stdin open.
        blocked_reading(proc.pid)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        out = seen + proc.stdout.read()
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 130 and "interrupted (Ctrl-C) at the prompt" in out
    story = trace(tmp_path)
    assert story.run.state == RunState.CANCELLED and story.transitions[-1].actor


@pytest.mark.docker
def test_skipping_a_step_at_the_prompt_drops_it_as_unticking_does(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    done = steward(
        tmp_path, "run", "docs", "--repo", str(repo), "--issue-json", str(ISSUE_JSON), stdin="e\n1\ny\n"
    )
    assert done.returncode == 0, done.stderr
    plan_text = done.stdout.split("Run this plan?")[0]
    assert "untick" not in plan_text and "1. [x]" in plan_text and "Steps to skip" in done.stdout
    story = trace(tmp_path)
    first = story.run.plan.steps[0] if story.run.plan else None
    assert first is not None and not first.ticked
    assert story.approvals[-1].steps_dropped == [first.id]
    assert first.id not in story.approvals[-1].steps_kept
    assert any(s.name == "commit" and "commit and push" not in s.command for s in story.steps)
    assert "dropped (unticked before approval)" in done.stdout  # the PR text says so, as on GitHub


def test_a_bad_skip_option_is_refused_and_the_run_cancelled(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    done = steward(
        tmp_path, "run", "docs", "--repo", str(repo), "--issue-json", str(ISSUE_JSON), "--yes", "--skip", "42"
    )
    if "Docker is not reachable" in done.stderr or "steward sandbox build" in done.stderr:
        pytest.skip("needs Docker and the sandbox image")
    assert done.returncode == 2 and "'42' is not a step" in done.stderr
    assert trace(tmp_path).run.state == RunState.CANCELLED


def test_ctrl_c_while_working_cancels_the_open_run(tmp_path: Path) -> None:
    async def go() -> tuple[RunState, str]:
        ledger = await Ledger.connect(f"sqlite+aiosqlite:///{tmp_path / 'l.db'}")
        try:
            run = await ledger.create_run("local:/x", 7, "docs", actor="me")
            await ledger.transition(run.id, RunState.PLANNING, actor="me")
            await ledger.transition(run.id, RunState.RUNNING, actor="me")
            with pytest.raises(asyncio.CancelledError):
                async with cancelled_on_interrupt(ledger, run.id, "me"):
                    raise asyncio.CancelledError  # what asyncio.run does to the task on SIGINT
            story = await ledger.trace(run.id)
            return story.run.state, story.transitions[-1].reason
        finally:
            await ledger.close()

    assert asyncio.run(go()) == (RunState.CANCELLED, "interrupted (Ctrl-C) on the terminal")
