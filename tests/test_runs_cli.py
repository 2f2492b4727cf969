"""`steward runs list | show | cancel` on a real SQLite ledger: header, columns, units, cancel."""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import shlex
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from jobs.ledger import Ledger, RunState
from jobs.ledger.egress import EgressRecord
from jobs.ledger.render import format_duration, format_limits, format_size
from jobs.plan import Plan, SetupStep
from sandbox.limits import Limits
from tests.conftest import RedisServer

LOCAL_STATES = [RunState.QUEUED, RunState.PLANNING, RunState.AWAITING_APPROVAL, RunState.RUNNING]
PATHS = {
    RunState.QUEUED: [],
    RunState.PLANNING: [RunState.PLANNING],
    RunState.AWAITING_APPROVAL: [RunState.PLANNING, RunState.AWAITING_APPROVAL],
    RunState.RUNNING: [RunState.PLANNING, RunState.RUNNING],
    RunState.PROPOSED: [RunState.PLANNING, RunState.RUNNING, RunState.PROPOSED],
    RunState.CANCELLED: [RunState.CANCELLED],
    RunState.MERGED: [RunState.PLANNING, RunState.RUNNING, RunState.PROPOSED, RunState.MERGED],
}


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.setenv("STEWARD_DATABASE_URL", url)
    monkeypatch.setenv("STEWARD_REDIS_URL", "redis://127.0.0.1:9/0")  # nothing listens there
    return url


def seed(url: str, repo: str, state: RunState, **fields: object) -> str:
    async def go() -> str:
        ledger = await Ledger.connect(url)
        try:
            run = await ledger.create_run(repo, 7, "docs", actor="alice", **fields)
            for to in PATHS[state]:
                await ledger.transition(run.id, to, actor="alice")
            return run.id
        finally:
            await ledger.close()

    return asyncio.run(go())


def state_of(url: str, run_id: str) -> tuple[RunState, str, str]:
    async def go() -> tuple[RunState, str, str]:
        ledger = await Ledger.connect(url)
        try:
            trace = await ledger.trace(run_id)
            last = trace.transitions[-1]
            return trace.run.state, last.actor, last.reason
        finally:
            await ledger.close()

    return asyncio.run(go())


def test_list_has_a_header_and_fixed_columns(db: str) -> None:
    long_repo = "local:/home/someone/projects/a-very-long-directory-name/checkout"
    seed(db, "octo/hello", RunState.QUEUED)
    seed(db, long_repo, RunState.AWAITING_APPROVAL)
    out = CliRunner().invoke(app, ["runs", "list"]).output.splitlines()
    assert out[0].split() == ["RUN", "REPO", "#", "WORKFLOW", "STATE", "AGE", "COST"]
    starts = [line.index("docs") for line in out[1:]]
    assert len(out) == 3 and starts[0] == starts[1] == out[0].index("WORKFLOW")
    assert "…" in out[1] and long_repo not in out[1] and long_repo.endswith(out[1].split()[1][1:])


def test_list_takes_a_plain_directory_for_local_runs(db: str, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "sub").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    mine = seed(db, f"local:{checkout.resolve()}", RunState.QUEUED)
    other = seed(db, "octo/hello", RunState.QUEUED)
    for value in (str(checkout / "sub"), str(checkout), f"local:{checkout.resolve()}"):
        out = CliRunner().invoke(app, ["runs", "list", "--repo", value]).output
        assert mine in out and other not in out, value
    assert "local:" in CliRunner().invoke(app, ["runs", "list", "--help"]).output


def test_show_aligns_labels_and_gives_limits_in_units(db: str) -> None:
    limits = Limits(
        memory="512m", command_timeout=600, run_timeout=5400, output_bytes="1m", disk="2g"
    ).model_dump()
    run_id = seed(db, "octo/hello", RunState.QUEUED, config_digest="5e52abcdef", limits=limits)
    out = CliRunner().invoke(app, ["runs", "show", run_id]).output
    fields = [line for line in out.splitlines()[1:] if line.startswith("  ") and ":" in line][:6]
    columns = {len(line) - len(line.split(":", 1)[1].lstrip()) for line in fields}
    assert len(columns) == 1, fields
    assert "config digest:  5e52abcdef" in out
    assert "memory 512 MiB" in out and "10 min per command" in out and "1 h 30 min per run" in out
    shown = out.split("limits:")[1].splitlines()[0]
    assert "output 1 MiB per command" in out and "bytes" not in shown
    assert "workspace disk 2 GiB" in shown and "=" not in shown  # every limit a run records, in units


@pytest.mark.parametrize(
    ("value", "text"), [(512 * 1024**2, "512 MiB"), (1024**3, "1 GiB"), (1536, "1536 bytes"), ("x", "x")]
)
def test_format_size(value: object, text: str) -> None:
    assert format_size(value) == text


@pytest.mark.parametrize(("value", "text"), [(45, "45 s"), (600, "10 min"), (3600, "1 h"), (90.5, "90.5 s")])
def test_format_duration(value: float, text: str) -> None:
    assert format_duration(value) == text


def test_unknown_limits_are_kept_as_they_are() -> None:
    assert format_limits({"pids": 8, "gpu": 1}) == "8 processes, gpu=1"


@pytest.mark.parametrize("state", LOCAL_STATES)
def test_cancel_stops_an_open_local_run_and_records_who(db: str, state: RunState) -> None:
    run_id = seed(db, "local:/tmp/checkout", state)
    done = CliRunner().invoke(app, ["runs", "cancel", run_id, "--reason", "stuck at the prompt"])
    assert done.exit_code == 0, done.output
    assert f"Cancelled {run_id}" in done.output and "GitHub" not in done.output
    assert state_of(db, run_id) == (
        RunState.CANCELLED,
        getpass.getuser(),
        f"steward runs cancel by {getpass.getuser()}: stuck at the prompt",
    )


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (RunState.CANCELLED, "already cancelled, a final state"),
        (RunState.MERGED, "already merged, a final state"),
        (RunState.PROPOSED, "waits for review; close its pull request"),
    ],
)
def test_cancel_refuses_a_run_that_is_over(db: str, state: RunState, words: str) -> None:
    run_id = seed(db, "octo/hello", state)
    done = CliRunner().invoke(app, ["runs", "cancel", run_id])
    assert done.exit_code == 1 and words in done.output
    assert state_of(db, run_id)[0] == state


def test_cancel_of_an_unknown_run_says_so(db: str) -> None:
    done = CliRunner().invoke(app, ["runs", "cancel", "r-nope"])
    assert done.exit_code == 1 and "no run 'r-nope'" in done.output


def test_cancel_of_a_github_run_aborts_its_jobs_and_says_what_it_cannot_do(
    db: str, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEWARD_REDIS_URL", redis_server.url)
    run_id = seed(db, "octo/hello", RunState.AWAITING_APPROVAL)
    done = CliRunner().invoke(app, ["runs", "cancel", run_id])
    assert done.exit_code == 0, done.output
    assert "jobs were aborted" in done.output and "`/steward cancel` on the issue updates it" in done.output
    assert state_of(db, run_id)[0] == RunState.CANCELLED


def test_cancel_of_a_github_run_without_redis_still_cancels_and_says_so(db: str) -> None:
    run_id = seed(db, "octo/hello", RunState.RUNNING)
    done = CliRunner().invoke(app, ["runs", "cancel", run_id])
    assert done.exit_code == 0 and "could not reach Redis" in done.output
    assert state_of(db, run_id)[0] == RunState.CANCELLED


INSTALL = "pip install --index-url http://pkgs.example.test/simple/ -r requirements.txt"


def test_show_renders_the_setup_phase_with_its_command_result_digest_and_hosts(db: str) -> None:
    output = b"Collecting rich\nERROR: No matching distribution found for rich\n"
    egress = EgressRecord.of(
        ["pkgs.example.test:80"] * 3 + ["files.example.test:443"],
        ["other.example.test:80 (not in this sandbox's egress allowlist)"] * 2,
        sent=3000,
        received=2 * 1024**2,
    )

    async def go() -> str:
        ledger = await Ledger.connect(db)
        try:
            run = await ledger.create_run("octo/hello", 7, "tests", actor="alice")
            setup = SetupStep(
                command=INSTALL, reason="detected from requirements.txt", hosts=["pkgs.example.test"]
            )
            await ledger.set_plan(run.id, Plan(workflow="tests", number=7, setup=setup))
            step = await ledger.add_step(run.id, "setup", shlex.join(["sh", "-c", INSTALL]))
            await ledger.finish_step(step, 1, output, 4.5, cpu_seconds=1.25)
            await ledger.record_step(run.id, "egress", egress.summary(), 0, egress.text().encode())
            await ledger.record_step(run.id, "exec", "python3 -m pytest", 0, b"1 passed\n")
            return run.id
        finally:
            await ledger.close()

    out = CliRunner().invoke(app, ["runs", "show", asyncio.run(go())]).output
    assert f"  install: {INSTALL}  (detected from requirements.txt)" in out
    assert "  may reach: pkgs.example.test" in out
    lines = out.split("steps:")[1].splitlines()
    assert lines[1] == "  1. setup phase: install step  [exit 1, 4.50s, cpu 1.25s]"
    assert lines[2] == f"     command: {INSTALL}"  # as configured, not wrapped in sh -c
    assert lines[3] == f"     output:  {len(output)} bytes, sha256 {hashlib.sha256(output).hexdigest()}"
    assert lines[5] == "     | ERROR: No matching distribution found for rich"
    assert lines[6] == "  2. setup phase: network  [2 host(s) reached, 1 refused; 2.0 MiB in, 2.9 KiB out]"
    assert lines[7:10] == [
        "     reached  files.example.test:443  (1 connection)",
        "     reached  pkgs.example.test:80  (3 connections)",
        "     REFUSED  other.example.test:80 (not in this sandbox's egress allowlist)  (2 times)",
    ]
    assert lines[10].startswith("  3. exec  [exit 0, ")
    assert lines[11] == "     $ python3 -m pytest"  # every other step as before


def test_an_egress_record_reads_back_what_it_wrote_and_skips_a_cut_marker() -> None:
    record = EgressRecord.of(
        ["a.test:443", "a.test:443"], ["b.test:80 (it resolved to 10.0.0.1 (private))"], 5, 7
    )
    text = record.text().replace("\n", "\n[... 12 characters cut ...]\n", 1)
    assert EgressRecord.parse(text) == record
    assert EgressRecord.parse("no connection") == EgressRecord()
