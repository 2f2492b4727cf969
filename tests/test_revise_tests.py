"""A revision of a tests-workflow pull request, built-in engine, end to end: the default branch moved (a new
function), so the revision merges it in, runs the suite with the tests it generated before against the
current code, and keeps new generated tests that pass only there, all in the real Docker sandbox.

Real arq worker on real Redis, real SQLite ledger, real Docker sandbox with no network, real git with a bare
repository as the remote; GitHub's HTTP mocked with respx (tests/revision_fixtures.py). The candidate tests
come from a fixed generator (tests/tests_workflow_support.py), as in tests/test_tests_workflow.py, so the
validation, coverage and suite runs are real while Pynguin's own run time stays out of the test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import respx

from app.settings import Settings
from jobs.ledger import RunState
from jobs.runs import registry
from tests.revision_fixtures import PR, FakeReviewGitHub
from tests.run_fixtures import APPROVER, ISSUE, MAINTAINER, ROLES, Remote, git, runs, say, trace_of
from tests.sandbox_fixtures import docker_client, sandbox_image  # noqa: F401
from tests.test_revise import on_pull, result_comments
from tests.tests_workflow_support import CALC, HEAD, PASSING, PROJECT, Fixed

pytestmark = [pytest.mark.anyio, pytest.mark.docker]
BRANCH = f"steward/tests/{ISSUE}"
CONFIG = "workflows:\n  tests:\n    candidate_seconds: 4\n"
SIGN = CALC + "\n\ndef sign(n: int) -> int:\n    if n < 0:\n        return -1\n    return 1 if n else 0\n"
SIGN_TEST = (
    HEAD + "\n\ndef test_case_1():\n    assert module_0.sign(-7) == -1\n    assert module_0.sign(0) == 0\n"
)


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    """The small calc project of the tests-workflow tests on `main` of a bare remote."""
    dev = tmp_path / "dev"
    for path, text in {**PROJECT, ".github/steward.yml": CONFIG}.items():
        (dev / path).parent.mkdir(parents=True, exist_ok=True)
        (dev / path).write_text(text)
    git(dev, "init", "-q", "-b", "main")
    git(dev, "add", "-A")
    git(dev, "commit", "-qm", "calc")
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(dev, "remote", "add", "origin", str(bare))
    git(dev, "push", "-q", "origin", "main")
    return Remote(bare, dev)


@pytest.fixture
def github(remote: Remote) -> FakeReviewGitHub:
    fake = FakeReviewGitHub(remote=remote)
    fake.permissions = dict(ROLES)
    fake.files[".github/steward.yml"] = CONFIG
    fake.issue_title = "Cover the calc module"
    return fake


@pytest.fixture
def generator(monkeypatch: pytest.MonkeyPatch) -> Fixed:
    fixed = Fixed({"pass": PASSING, "sign": SIGN_TEST})
    monkeypatch.setattr(registry.get("tests"), "generator", fixed)
    return fixed


async def test_a_tests_revision_merges_the_moved_base_and_keeps_tests_that_pass_on_it(
    settings: Settings,
    github: FakeReviewGitHub,
    remote: Remote,
    api: respx.MockRouter,
    generator: Fixed,
    sandbox_image: str,  # noqa: F811
) -> None:
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    await say(settings, "/steward tests pkg/calc.py", MAINTAINER, 5001)
    await say(settings, "/steward approve", APPROVER, 5003)
    (parent,) = await runs(settings)
    first = remote.sha(BRANCH)
    assert parent.state == RunState.PROPOSED and parent.pr_number == PR and first is not None, parent
    assert remote.files_changed("main", BRANCH) == ["tests/test_calc_steward.py"]
    earlier = git(remote.bare, "show", f"{first}:tests/test_calc_steward.py")
    assert "classify(-4)" in earlier and "sign" not in earlier, "sign() does not exist yet: dropped"

    forked = remote.sha("main")
    assert forked is not None
    moved = remote.push_change("pkg/calc.py", SIGN)  # the default branch gains a function

    await on_pull(settings, "/steward revise", MAINTAINER, 5002)
    await on_pull(settings, "/steward approve", APPROVER, 5004)
    (revision,) = await runs(settings, PR)
    done = await trace_of(settings, revision.id)
    assert done.run.state == RunState.PROPOSED, done.transitions[-1]
    assert done.run.paths == ["pkg/calc.py"], "the revision keeps the paths the pull request was made for"
    (plan,) = github.plan_comments(PR)
    assert f"**Base moved:** `main` moved from `{forked[:12]}` to `{moved[:12]}`" in plan["body"]

    head = remote.sha(BRANCH)
    assert head is not None
    (merge,) = git(remote.bare, "rev-list", "--parents", "-n", "1", head).split()[1:]
    assert git(remote.bare, "rev-list", "--parents", "-n", "1", merge).split()[1:] == [first, moved]
    assert remote.files_changed(merge, head) == ["tests/test_calc_steward_2.py"]
    kept = git(remote.bare, "show", f"{head}:tests/test_calc_steward_2.py")
    assert "module_0.sign(-7) == -1" in kept and "classify(-4)" not in kept, "only what adds coverage now"
    assert git(remote.bare, "show", f"{head}:tests/test_calc_steward.py") == earlier

    commands = [step.command for step in done.steps if step.name == "exec"]
    suites = [c for c in commands if "pytest" in c and "tests" in c]
    assert suites, "the suite ran in the sandbox, the earlier generated tests with it"
    assert generator.asked == ["pkg/calc.py", "pkg/calc.py"]
    (result,) = result_comments(github)
    assert f"merge commit `{merge[:12]}` brings it into the branch" in result
    assert done.run.plan is not None
    (step,) = [step for step in done.run.plan.steps if step.detail == "pkg/calc.py"]
    assert (step.result, step.result_detail) == ("done", "1 test(s) kept for pkg/calc.py")
    assert f"{step.title}: done" in result
    assert len(github.pulls) == 1
