"""The tests workflow on a small project made here, in a real sandbox: what is kept, what goes and why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.config.model import RepoConfig
from jobs.runs.work import path_policy
from jobs.workflows.tests.workflow import TestsWorkflow
from policies.loader import effective_policy
from sandbox import git as hostgit
from tests.sandbox_fixtures import docker_client, sandbox_image  # noqa: F401
from tests.tests_workflow_support import (
    ESCAPING,
    FAILING,
    FLAKY,
    NO_GAIN,
    PASSING,
    PROJECT,
    SLOW,
    Fixed,
    item,
    make_remote,
    plan_for,
    relinking,
    sh,
    work_in_sandbox,
)

pytestmark = [pytest.mark.anyio, pytest.mark.docker]
BOT = hostgit.Identity("steward[bot]", "1+steward[bot]@users.noreply.github.com")


def config(**tests: object) -> RepoConfig:
    return RepoConfig.model_validate({"workflows": {"tests": {"candidate_seconds": 4, **tests}}})


async def clone(tmp_path: Path) -> tuple[Path, hostgit.Workspace]:
    bare, commit = make_remote(tmp_path)
    branch = hostgit.branch_name("tests", 8)
    ws = await hostgit.clone(bare.as_uri(), commit, root=tmp_path / "run", branch=branch, ref="main")
    return bare, ws


def branches(bare: Path) -> list[str]:
    return sh("git", "-C", str(bare), "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


async def test_reliable_tests_are_kept_and_coverage_rises_while_flaky_failing_idle_slow_ones_go(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
) -> None:
    bare, ws = await clone(tmp_path)
    sources = {"pass": PASSING, "flaky": FLAKY, "failing": FAILING, "idle": NO_GAIN, "slow": SLOW}
    flow = TestsWorkflow(generator=Fixed(sources))
    cfg = config()
    outcome = await work_in_sandbox(ws, flow, cfg, sandbox_image, item())

    reasons = {dropped.id: dropped.reason for dropped in outcome.dropped}
    assert reasons == {"flaky": "flaky", "failing": "failed", "idle": "no new coverage", "slow": "too slow"}
    assert [kept.name for kept in outcome.kept] == ["test_classify_1"]
    assert outcome.affected == ["pkg/calc.py"]
    before, after = outcome.before["pkg/calc.py"], outcome.after["pkg/calc.py"]
    assert after.line_percent > before.line_percent
    assert after.branch_percent > before.branch_percent
    assert outcome.suite_passed is True
    assert outcome.changed == ["tests/test_calc_steward.py"]
    written = (ws.work_tree / "tests/test_calc_steward.py").read_text()
    assert "def test_classify_1():" in written and "/workspace" not in written

    policy = effective_policy(flow.policy(), cfg.workflows.tests)
    sha = await hostgit.commit_and_push(
        ws, policy=path_policy(policy), run_id="r-1", message="tests", identity=BOT
    )
    assert sha is not None and ws.branch in branches(bare)
    shown = sh("git", "-C", str(bare), "show", f"{ws.branch}:tests/test_calc_steward.py")
    assert shown == written
    body = flow.body(plan := plan_for(ws, flow, cfg, item()), item(), outcome, "stat", "r-1")
    assert "| `pkg/calc.py` |" in body and "**flaky**" in body and "**too slow**" in body
    assert plan.workflow == "tests"


async def test_a_test_file_outside_the_writable_paths_is_refused_and_nothing_is_pushed(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
) -> None:
    bare, ws = await clone(tmp_path)
    flow = TestsWorkflow(generator=Fixed({"pass": PASSING}))
    cfg = config(paths=["tests/unit/**"])  # the repository keeps its tests in tests/, outside these
    outcome = await work_in_sandbox(ws, flow, cfg, sandbox_image, item())
    assert outcome.refused == ["tests/test_calc_steward.py"]
    assert outcome.changed == [] and not (ws.work_tree / "tests/test_calc_steward.py").exists()
    assert any("outside the paths this run may change" in problem for problem in outcome.problems)
    policy = effective_policy(flow.policy(), cfg.workflows.tests)
    assert (
        await hostgit.commit_and_push(
            ws, policy=path_policy(policy), run_id="r-2", message="tests", identity=BOT
        )
        is None
    )
    assert branches(bare) == ["main"]


async def test_a_candidate_that_writes_outside_the_paths_makes_the_diff_check_refuse_the_push(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
) -> None:
    bare, ws = await clone(tmp_path)
    flow = TestsWorkflow(generator=Fixed({"pass": ESCAPING}))
    cfg = config()
    await work_in_sandbox(ws, flow, cfg, sandbox_image, item())
    policy = effective_policy(flow.policy(), cfg.workflows.tests)
    with pytest.raises(hostgit.DiffRefusedError, match=r"pkg/planted\.py"):
        await hostgit.commit_and_push(
            ws, policy=path_policy(policy), run_id="r-3", message="tests", identity=BOT
        )
    assert branches(bare) == ["main"]


def _regular_files(root: Path) -> list[Path]:
    """Every regular file below root, no link followed."""
    found = []
    for top, _, files in os.walk(root):
        found += [Path(top, name) for name in files if not Path(top, name).is_symlink()]
    return sorted(found)


@pytest.mark.parametrize("what", ["tests", "tests/test_calc_steward.py"])
async def test_a_candidate_that_swaps_the_tests_folder_or_file_for_a_link_gets_nothing_written_or_pushed(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
    what: str,
) -> None:
    bare, ws = await clone(tmp_path)
    outside = tmp_path / "host-dir"  # a host directory; the link names it, only the host could follow it
    outside.mkdir()
    (outside / "keep.txt").write_text("the host's own file\n")
    before = {path: path.read_bytes() for path in _regular_files(tmp_path) if ws.root not in path.parents}
    flow = TestsWorkflow(generator=Fixed({"pass": relinking(what, outside)}))
    cfg = config()
    outcome = await work_in_sandbox(ws, flow, cfg, sandbox_image, item())

    assert (ws.work_tree / what).is_symlink()  # the candidate did swap it in, during validation
    after = {path: path.read_bytes() for path in _regular_files(tmp_path) if ws.root not in path.parents}
    assert after == before  # nothing written outside the workspace (nor into the host directory)
    assert outcome.changed == [] and outcome.kept == []
    assert any(
        "could not write tests/test_calc_steward.py" in problem and "symbolic link" in problem
        for problem in outcome.problems
    ), outcome.problems
    policy = effective_policy(flow.policy(), cfg.workflows.tests)
    with pytest.raises(hostgit.DiffRefusedError, match="symbolic links"):
        await hostgit.commit_and_push(
            ws, policy=path_policy(policy), run_id="r-4", message="tests", identity=BOT
        )
    assert branches(bare) == ["main"]


async def test_a_file_that_keeps_no_test_says_why_in_the_problems_a_closed_run_shows(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
) -> None:
    _, ws = await clone(tmp_path)
    flow = TestsWorkflow(generator=Fixed({"failing": FAILING, "idle": NO_GAIN}))
    outcome = await work_in_sandbox(ws, flow, config(), sandbox_image, item())
    assert outcome.kept == [] and outcome.changed == []
    before = outcome.before["pkg/calc.py"]
    assert outcome.problems == [
        f"no test kept for `pkg/calc.py` ({before.line_percent:.1f}% lines, {before.branch_percent:.1f}% "
        "branches before); candidates dropped: 1 failed, 1 no new coverage"
    ]


async def test_a_suite_that_already_failed_is_not_blamed_on_the_kept_tests(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
) -> None:
    broken = "def test_needs_data_the_sdist_lacks():\n    assert open('data/missing.txt').read()\n"
    bare, commit = make_remote(tmp_path, {**PROJECT, "tests/test_data.py": broken})
    ws = await hostgit.clone(bare.as_uri(), commit, root=tmp_path / "run", branch="b", ref="main")
    flow = TestsWorkflow(generator=Fixed({"pass": PASSING}))
    outcome = await work_in_sandbox(ws, flow, config(), sandbox_image, item())
    assert [kept.name for kept in outcome.kept] == ["test_classify_1"]
    assert outcome.failing_before == ["tests/test_data.py::test_needs_data_the_sdist_lacks"]
    assert outcome.suite_passed is True and outcome.problems == []
    assert any("failed before the kept tests too (1 failing)" in note for note in outcome.notes)
