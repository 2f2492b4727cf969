"""A step that fails reads as failed everywhere: the plan, the pull-request text, `runs show`, the exit code.

The run still proposes what the other steps changed (the README says so), but the PR text states the
failure before anything else, the plan marks the step FAILED, and `steward run` exits non-zero.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import respx

from app.settings import Settings
from jobs.ledger import RunState
from jobs.plan import Plan, PlanStep, render_plan, render_plan_summary
from tests.run_fixtures import MAINTAINER, SAMPLE, FakeRunGitHub, Remote, git, runs, say, trace_of
from tests.test_local_run import ISSUE_JSON, steward

BROKEN = '<!-- steward:exec python3 -c "import sys; sys.exit(3)" -->\n```\nold\n```\n<!-- /steward:exec -->\n'


def plan_with_a_failure() -> Plan:
    steps = [
        PlanStep(id="changelog", title="Update CHANGELOG.md", result="done", result_detail="added #7"),
        PlanStep(id="exec-1", title="Refresh the block in docs/broken.md", result="failed",
                 result_detail="docs/broken.md: `python3 -c ...` exited with 3"),
    ]  # fmt: skip
    return Plan(workflow="docs", number=7, steps=steps)


def test_the_plan_comment_and_the_summary_mark_the_failed_step() -> None:
    plan = plan_with_a_failure()
    comment = render_plan(plan, run_id="r-1", state=RunState.PROPOSED.value)
    (line,) = [line for line in comment.splitlines() if "steward:step exec-1" in line]
    assert "**failed**: docs/broken.md: `python3 -c ...` exited with 3" in line
    summary = render_plan_summary(plan)
    assert summary[0] == "- done: Update CHANGELOG.md"
    assert summary[1].startswith("- FAILED: Refresh the block in docs/broken.md (docs/broken.md:")
    assert not any(line.startswith("- done: Refresh") for line in summary)


@pytest.mark.docker
def test_a_local_run_with_a_failed_step_says_so_everywhere_and_exits_non_zero(tmp_path: Path) -> None:
    repo = tmp_path / "sample"
    shutil.copytree(SAMPLE, repo)
    (repo / "docs" / "broken.md").write_text("# Broken\n\n" + BROKEN)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "sample")
    done = steward(tmp_path, "run", "docs", "--repo", str(repo), "--issue-json", str(ISSUE_JSON), "--yes")
    assert done.returncode == 1, done.stdout
    assert "is proposed, but a step failed" in done.stderr
    pull_text = done.stdout.split("=== pull request it would open ===", 1)[1]
    _, _, body = pull_text.strip().partition("\n\n")
    assert body.startswith("> [!WARNING]\n> **1 step(s) of the plan failed**")
    assert re.search(r"^- FAILED: Refresh the generated block in docs/broken\.md", body, re.MULTILINE)
    assert not re.search(r"^- done: Refresh the generated block in docs/broken\.md", body, re.MULTILINE)
    assert re.search(r"^- done: Refresh the generated block in README\.md", body, re.MULTILINE)
    assert "1 step(s) FAILED" in done.stdout  # the plan's status line
    assert "CHANGELOG.md" in git(repo, "diff", "--name-only", "main", "steward/docs/7")
    run_id = done.stderr.split("run ", 1)[1].split()[0]
    shown = steward(tmp_path, "runs", "show", run_id)
    assert shown.returncode == 0
    (step,) = [line for line in shown.stdout.splitlines() if "docs/broken.md" in line and "[x]" in line]
    assert "-> FAILED" in step


@pytest.mark.docker
@pytest.mark.anyio
async def test_on_github_the_plan_comment_and_pull_request_mark_the_failed_step(
    settings: Settings, github: FakeRunGitHub, remote: Remote, api: respx.MockRouter
) -> None:
    remote.push_change("docs/broken.md", "# Broken\n\n" + BROKEN)
    github.files[".github/steward.yml"] = "workflows:\n  docs:\n    approval:\n      required: false\n"
    await say(settings, "/steward docs", MAINTAINER, 7001)
    (run,) = await runs(settings)
    assert run.state == RunState.PROPOSED and run.plan is not None
    assert [step.title for step in run.plan.failed()] == ["Refresh the generated block in docs/broken.md"]
    (plan,) = github.plan_comments()
    assert "1 step(s) FAILED, see below" in plan["body"]
    (line,) = [line for line in plan["body"].splitlines() if "docs/broken.md" in line and "- [x]" in line]
    assert "**failed**" in line
    (pull,) = github.pulls
    assert pull["body"].startswith("> [!WARNING]\n> **1 step(s) of the plan failed**")
    assert "- FAILED: Refresh the generated block in docs/broken.md" in pull["body"]
    trace = await trace_of(settings, run.id)
    assert trace.transitions[-1].reason == f"proposed in #{pull['number']}; 1 step(s) FAILED, see below"
