"""The tests workflow with the real generator: Pynguin from the image's tools venv, on a project made here.

It needs an image built with the tools venv (`steward sandbox build`); on an older image it fails saying so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config.model import RepoConfig
from jobs.workflows.tests.workflow import TestsWorkflow
from sandbox import git as hostgit
from tests.sandbox_fixtures import docker_client, sandbox_image  # noqa: F401
from tests.tests_workflow_support import item, make_remote, work_in_sandbox

pytestmark = [pytest.mark.anyio, pytest.mark.docker]


async def test_pynguin_writes_candidates_and_the_kept_ones_raise_coverage(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
) -> None:
    bare, commit = make_remote(tmp_path)
    ws = await hostgit.clone(bare.as_uri(), commit, root=tmp_path / "run", branch="b", ref="main")
    cfg = RepoConfig.model_validate({"workflows": {"tests": {"generation_seconds": 10}}})
    outcome = await work_in_sandbox(ws, TestsWorkflow(), cfg, sandbox_image, item())
    assert outcome.problems == []
    assert outcome.generated > 0 and outcome.kept
    assert {kept.name.rsplit("_", 1)[0] for kept in outcome.kept} <= {"test_classify", "test_double"}
    before, after = outcome.before["pkg/calc.py"], outcome.after["pkg/calc.py"]
    assert after.branch_percent > before.branch_percent
    assert outcome.suite_passed is True
    assert not any("not formatted" in note for note in outcome.notes)  # ruff came from the image
    assert outcome.changed == ["tests/test_calc_steward.py"]
