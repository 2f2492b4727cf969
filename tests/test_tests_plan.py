"""The tests workflow's plan on a real checkout: exactly the files in play, and other languages refused."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.config.model import RepoConfig
from jobs.runs import registry
from jobs.workflows.tests.affected import NotPythonError
from jobs.workflows.tests.planning import LEAST_STEP, SUITE_STEP, file_step_id
from jobs.workflows.tests.workflow import TestsWorkflow
from sandbox import git as hostgit
from tests.tests_workflow_support import PROJECT, item, make_remote, plan_for

pytestmark = pytest.mark.anyio
FILES = {**PROJECT, "pkg/util.py": "def f():\n    return 1\n", "docs/conf.py": "x = 1\n"}


async def checkout(tmp_path: Path, files: dict[str, str] = FILES) -> hostgit.Workspace:
    bare, commit = make_remote(tmp_path, files)
    return await hostgit.clone(bare.as_uri(), commit, root=tmp_path / "run", branch="b", ref="main")


async def test_on_a_pull_request_it_plans_for_exactly_its_changed_source_files(tmp_path: Path) -> None:
    ws = await checkout(tmp_path)
    changed = ("pkg/calc.py", "tests/test_calc.py", "README.md", "docs/conf.py", "gone.py")
    plan = plan_for(ws, TestsWorkflow(), RepoConfig(), item(changed=changed))
    assert [step.id for step in plan.steps] == [file_step_id("pkg/calc.py"), SUITE_STEP]
    assert [step.detail for step in plan.steps[:-1]] == ["pkg/calc.py"]
    assert "affected files: the pull request's changed files" in plan.notes
    assert "kept tests go to tests (test_*.py), beside the repository's own" in plan.notes
    assert plan.paths[0] == "tests/**" and plan.workflow == "tests"


async def test_paths_given_win_over_the_changed_files_and_a_directory_stands_for_its_sources(
    tmp_path: Path,
) -> None:
    ws = await checkout(tmp_path)
    plan = plan_for(ws, TestsWorkflow(), RepoConfig(), item(paths=("pkg/", "nope.py")))
    assert [step.detail for step in plan.steps[:-1]] == ["pkg/__init__.py", "pkg/calc.py", "pkg/util.py"]
    assert "nope.py: not a Python source file of this checkout" in plan.notes


async def test_an_issue_plans_for_the_files_its_body_names_else_the_least_covered(tmp_path: Path) -> None:
    ws = await checkout(tmp_path)
    issue = replace(item().issue, is_pull_request=False, body="`pkg/util.py` breaks; see also setup.cfg")
    plan = plan_for(ws, TestsWorkflow(), RepoConfig(), replace(item(changed=()), issue=issue))
    assert [step.detail for step in plan.steps[:-1]] == ["pkg/util.py"]
    silent = replace(issue, body="something is wrong")
    plan = plan_for(ws, TestsWorkflow(), RepoConfig(), replace(item(changed=()), issue=silent))
    assert [step.id for step in plan.steps] == [LEAST_STEP, SUITE_STEP]
    assert "least-covered module(s) (chosen in the sandbox)" in plan.steps[0].title


async def test_a_repository_that_is_not_python_is_refused_naming_what_is_supported(tmp_path: Path) -> None:
    ws = await checkout(tmp_path, {"main.go": "package main\n", "go.mod": "module x\n"})
    with pytest.raises(NotPythonError, match=r"supports Python projects \(a pyproject.toml"):
        plan_for(ws, TestsWorkflow(), RepoConfig(), item(changed=("main.go",)))


def test_the_tests_workflow_registers_itself() -> None:
    flow = registry.get("tests")
    assert isinstance(flow, TestsWorkflow) and flow.generator.name == "pynguin"
    assert flow.install(RepoConfig.model_validate({"setup": {"install": "pip install -e ."}})) == (
        "pip install -e ."
    )
