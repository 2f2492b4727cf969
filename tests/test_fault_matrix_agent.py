"""The fault matrix for the agent engine on the docs workflow, where it differs from the built-in one: the
work phase, where the agent asks a model (here a scripted OpenAI-compatible server on 127.0.0.1) and acts
through Steward's tools. A SIGKILL as the work phase starts, one midway (after the agent's write_file acted),
and the model answering 502 or 429 for a while; each run must end proposed and true, as in
tests/test_fault_matrix.py. (The agent's plan is made on the host without the model: the plan step's faults
are the built-in matrix's.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.settings import Settings
from jobs.ledger import RunState
from tests.fake_github_server import serve_app
from tests.fake_model_server import ScriptedModel
from tests.fault_support import record, run_case
from tests.run_fixtures import BRANCH, fake_github, git, make_remote
from tests.worker_process import Workers

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

CONFIG = "workflows:\n  docs:\n    engine: agent\n    approval:\n      required: true\n"
DOCS = "# Usage\n\nRun `python -m sample --times 2 --shout NAME` to greet loudly, twice.\n"
CASES = {
    "work-kill": ("work", "kill", []),
    "midway-kill": ("work", "midway", []),
    "model-502": ("work", "model-502", [502, 502]),
    "model-429": ("work", "model-429", [429, 429]),
}
"""case -> (step, fault, the model's failing answers first). Two in a row: within one request's retries."""
BOUND = 300.0
"""A kill costs the heartbeat TTL, a recovery pass and a second work phase: past the docs matrix's 120 s
bound on a loaded 2-core machine."""


@pytest.mark.parametrize("case", list(CASES))
async def test_an_agent_docs_run_ends_true_under_the_fault(
    settings: Settings, tmp_path: Path, case: str
) -> None:
    step, fault, failures = CASES[case]
    remote = make_remote(tmp_path)
    github = fake_github(remote)
    github.files[".github/steward.yml"] = CONFIG
    model = ScriptedModel("docs/usage.md", DOCS, failures=list(failures))

    def started(workers: Workers) -> None:
        if fault == "midway":
            model.midway = lambda: workers.procs[-1].kill()  # SIGKILL, after write_file acted

    with serve_app(model.app()) as base:
        outcome = await run_case(
            settings, tmp_path, github, remote, step, fault if fault == "kill" else "none",
            command="/steward docs", branch=BRANCH, env=model.env(base), on_start=started, bound=BOUND,
        )  # fmt: skip
    problems = outcome.problems()
    if outcome.run is not None and outcome.run.state != RunState.PROPOSED:
        problems.append(f"a passing fault ended the run {outcome.run.state}, not proposed")
    if fault in ("kill", "midway") and outcome.deaths != 1:
        problems.append(f"the worker died {outcome.deaths} times, not once")
    if model.failed != len(failures):
        problems.append(f"the model answered {model.failed} failures, not {len(failures)}")
    if outcome.remote_sha and DOCS not in git(remote.bare, "show", f"{BRANCH}:docs/usage.md") + "\n":
        problems.append("the pushed docs/usage.md is not the one the agent wrote")
    results = os.environ.get("FAULT_MATRIX_RESULTS")
    record(Path(results) if results else None, f"agent:{step}", fault, outcome, problems)
    assert not problems, (
        f"{problems}; ended {outcome.why() if outcome.run else 'no run'}; model asked {model.requests}; "
        + ((tmp_path / "worker.log").read_text()[-4000:])
    )
