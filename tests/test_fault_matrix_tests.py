"""The fault matrix for the tests workflow (`/steward tests`, built-in engine: Pynguin in the sandbox): a
SIGKILL at each step of the run, and GitHub's 502 at the PR step, with a real worker process, Redis, Docker
and git and GitHub as a fake HTTP server. Each case must end true, as in tests/test_fault_matrix.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.settings import Settings
from jobs import failpoints
from sandbox.git import branch_name
from tests.fault_support import record, run_case
from tests.run_fixtures import ISSUE, Remote, fake_github
from tests.tests_workflow_support import make_remote

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

CASES = [(step, "kill") for step in failpoints.STEPS] + [("pr", "502")]
CONFIG = """workflows:
  tests:
    approval: {required: true}
    generation_seconds: 5
    candidate_seconds: 10
"""
BOUND = 300.0
"""A kill after the work phase costs the heartbeat TTL and a second work phase (Pynguin, validation, the
suite twice: about 40 s each on a loaded 2-core machine), more than the docs matrix's bound."""
SETUP = "setup:\n  install: echo installed\n"


@pytest.mark.parametrize(("step", "fault"), CASES, ids=[f"tests-{s}-{f}" for s, f in CASES])
async def test_a_tests_run_ends_true_under_the_fault(
    settings: Settings, tmp_path: Path, step: str, fault: str
) -> None:
    bare, _ = make_remote(tmp_path)
    remote = Remote(bare, tmp_path / "seed")
    github = fake_github(remote)
    github.files[".github/steward.yml"] = CONFIG + (SETUP if step == "setup" else "")
    outcome = await run_case(
        settings, tmp_path, github, remote, step, fault,
        command="/steward tests pkg/calc.py", branch=branch_name("tests", ISSUE), bound=BOUND,
    )  # fmt: skip
    problems = outcome.problems()
    if fault == "kill" and outcome.deaths != 1:
        problems.append(f"the worker died {outcome.deaths} times, not once at {step}")
    if fault == "502" and outcome.injected == 0:
        problems.append(f"no 502 was injected at {step}")
    results = os.environ.get("FAULT_MATRIX_RESULTS")
    record(Path(results) if results else None, f"tests:{step}", fault, outcome, problems)
    assert not problems, (
        f"{problems}; ended {outcome.why() if outcome.run else 'no run'}; "
        + ((tmp_path / "worker.log").read_text()[-4000:])
    )
