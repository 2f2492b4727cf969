"""A revision of a tests-workflow pull request, built-in engine, end to end: the default branch moved (a new
function), so the revision merges it in and regenerates the test file Steward generated before in place, for
the current code; a file a person edited since is left as it is and new tests go beside it. All in the real
Docker sandbox.

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
GENERATED = "tests/test_calc_steward.py"
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


async def proposed(settings: Settings, remote: Remote) -> tuple[str, str]:
    """The first run's pull request, with its generated file (sign() does not exist yet), and main's head."""
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    await say(settings, "/steward tests pkg/calc.py", MAINTAINER, 5001)
    await say(settings, "/steward approve", APPROVER, 5003)
    (parent,) = await runs(settings)
    first = remote.sha(BRANCH)
    assert parent.state == RunState.PROPOSED and parent.pr_number == PR and first is not None, parent
    assert remote.files_changed("main", BRANCH) == [GENERATED]
    earlier = git(remote.bare, "show", f"{first}:{GENERATED}")
    assert "classify(-4)" in earlier and "sign" not in earlier, "sign() does not exist yet: dropped"
    forked = remote.sha("main")
    assert forked is not None
    return first, forked


def tree(remote: Remote, ref: str) -> list[str]:
    return git(remote.bare, "ls-tree", "-r", "--name-only", ref).split()


async def test_a_tests_revision_merges_the_moved_base_and_regenerates_its_own_file_in_place(
    settings: Settings,
    github: FakeReviewGitHub,
    remote: Remote,
    api: respx.MockRouter,
    generator: Fixed,
    sandbox_image: str,  # noqa: F811
) -> None:
    first, forked = await proposed(settings, remote)
    moved = remote.push_change("pkg/calc.py", SIGN)  # the default branch gains a function

    await on_pull(settings, "/steward revise", MAINTAINER, 5002)
    (plan,) = github.plan_comments(PR)
    assert f"**Base moved:** `main` moved from `{forked[:12]}` to `{moved[:12]}`" in plan["body"]
    shown = GENERATED.replace("_", "\\_")  # a step title is plain text, made inert
    assert f"Refresh {shown} in place for pkg/calc.py (Steward generated it" in plan["body"], plan["body"]
    assert "was edited by" not in plan["body"]
    await on_pull(settings, "/steward approve", APPROVER, 5004)
    (revision,) = await runs(settings, PR)
    done = await trace_of(settings, revision.id)
    assert done.run.state == RunState.PROPOSED, done.transitions[-1]
    assert done.run.paths == ["pkg/calc.py"], "the revision keeps the paths the pull request was made for"

    head = remote.sha(BRANCH)
    assert head is not None
    (merge,) = git(remote.bare, "rev-list", "--parents", "-n", "1", head).split()[1:]
    assert git(remote.bare, "rev-list", "--parents", "-n", "1", merge).split()[1:] == [first, moved]
    assert remote.files_changed(merge, head) == [GENERATED], "the same file, rewritten"
    assert [path for path in tree(remote, head) if path.startswith("tests/test_calc")] == [
        "tests/test_calc.py",
        GENERATED,
    ], "no `_2` file"
    now = git(remote.bare, "show", f"{head}:{GENERATED}")
    assert "module_0.sign(-7) == -1" in now, "regenerated for the current code"
    assert "classify(-4)" in now, "what the earlier file covered is generated again, not lost"

    commands = [step.command for step in done.steps if step.name == "exec"]
    before = next(c for c in commands if "pytest" in c and "--ignore" in c)
    assert f"--ignore={GENERATED}" in before, "the suite before leaves out the file it regenerates"
    assert generator.asked == ["pkg/calc.py", "pkg/calc.py"]
    (result,) = result_comments(github)
    assert f"merge commit `{merge[:12]}` brings it into the branch" in result
    assert done.run.plan is not None
    (step,) = [step for step in done.run.plan.steps if step.detail == "pkg/calc.py"]
    assert step.result == "done" and step.result_detail.startswith("2 test(s) kept for pkg/calc.py")
    assert f"`{GENERATED}` (Steward generated it on this branch, nobody edited it since) rewritten in " in (
        step.result_detail
    )
    assert (
        ": done (2 test(s) kept for pkg/calc.py; `tests/test_calc_steward.py` (Steward generated" in result
    ), result
    assert len(github.pulls) == 1


async def test_a_generated_file_a_person_edited_is_left_as_it_is_and_new_tests_go_beside_it(
    settings: Settings,
    github: FakeReviewGitHub,
    remote: Remote,
    api: respx.MockRouter,
    generator: Fixed,
    sandbox_image: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    await proposed(settings, remote)
    github.logins["dev@example.com"] = "devon"
    person = tmp_path / "person"
    git(tmp_path, "clone", "-q", "-b", BRANCH, str(remote.bare), str(person))
    edited = (person / GENERATED).read_text() + "\n\ndef test_by_a_person():\n    assert True\n"
    (person / GENERATED).write_text(edited)
    git(person, "commit", "-qam", "a test of my own")
    git(person, "push", "-q", "origin", f"HEAD:{BRANCH}")
    remote.push_change("pkg/calc.py", SIGN)

    await on_pull(settings, "/steward revise", MAINTAINER, 5002)
    (plan,) = github.plan_comments(PR)
    note = (
        f"`{GENERATED}` was edited by `@devon` — left as it is; new tests go to "
        "`tests/test_calc_steward_2.py`"
    )
    assert note in plan["body"], plan["body"]
    assert "Refresh" not in plan["body"], "the edited file is not Steward's own any more"
    await on_pull(settings, "/steward approve", APPROVER, 5004)
    (revision,) = await runs(settings, PR)
    done = await trace_of(settings, revision.id)
    assert done.run.state == RunState.PROPOSED, done.transitions[-1]

    head = remote.sha(BRANCH)
    assert head is not None
    assert git(remote.bare, "show", f"{head}:{GENERATED}") + "\n" == edited, (
        "the person's file, as they left it"
    )
    assert "tests/test_calc_steward_2.py" in tree(remote, head)
    new = git(remote.bare, "show", f"{head}:tests/test_calc_steward_2.py")
    assert "module_0.sign(-7) == -1" in new and "classify(-4)" not in new, "only what adds coverage now"
    before = next(s.command for s in done.steps if s.name == "exec" and "pytest" in s.command)
    assert "--ignore" not in before, "the person's file counts in the suite before"
    (result,) = result_comments(github)
    assert note in result, "the result comment says so too (the person named as code, never mentioned)"
