"""The fault matrix: each fault at each step of a docs run, with a real worker process, Redis, Docker and
git and GitHub as a fake HTTP server. Every case must end true: exactly one plan comment, at most one PR, the
branch pushed at most once, the ledger agreeing with GitHub, and the issue told what happened.

A step that makes no GitHub call (setup, work, diff, push: git goes to the remote, not the API) has no HTTP
fault to take. `FAULT_MATRIX_RESULTS=path` appends each case's row for bench/fault_table.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.settings import Settings
from jobs import failpoints
from tests.fault_support import FAULTS, HTTP_FAULTS, ROUTES, record, run_case
from tests.run_fixtures import fake_github, make_remote

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

CASES = [(step, fault) for step in failpoints.STEPS for fault in FAULTS if fault == "kill" or step in ROUTES]


@pytest.mark.parametrize(("step", "fault"), CASES, ids=[f"{s}-{f}" for s, f in CASES])
async def test_a_run_ends_true_under_the_fault(
    settings: Settings, tmp_path: Path, step: str, fault: str
) -> None:
    remote = make_remote(tmp_path)
    github = fake_github(remote, install=step == "setup")  # the setup step runs only for an install step
    outcome = await run_case(settings, tmp_path, github, remote, step, fault)
    problems = outcome.problems()
    if fault == "kill" and outcome.deaths != 1:
        problems.append(f"the worker died {outcome.deaths} times, not once at {step}")
    if fault in HTTP_FAULTS and outcome.injected == 0:
        problems.append(f"no {fault} was injected at {step}")
    results = os.environ.get("FAULT_MATRIX_RESULTS")
    record(Path(results) if results else None, step, fault, outcome, problems)
    assert not problems, (
        f"{problems}; ended {outcome.why() if outcome.run else 'no run'}; "
        + ((tmp_path / "worker.log").read_text()[-4000:])
    )
