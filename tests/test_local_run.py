"""`steward run docs` on the sample repository as a user runs it: a subprocess, real Docker and git."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.run_fixtures import GIT_ENV, SAMPLE, git

STEWARD = str(Path(sys.executable).parent / "steward")
ISSUE_JSON = SAMPLE.parent / "sample-issue.json"


def checkout(tmp_path: Path, subject: str = "sample") -> Path:
    repo = tmp_path / "sample"
    shutil.copytree(SAMPLE, repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", subject)
    return repo


def steward(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")},
        **GIT_ENV,
        "PATH": os.environ["PATH"],
        "STEWARD_DATA_DIR": str(tmp_path / "data"),
        **env,
    }
    return subprocess.run(
        [STEWARD, *args], input=stdin, env=environ, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.docker
def test_sample_run_prints_plan_diff_and_pr_text_and_commits_the_local_branch(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    done = steward(tmp_path, "run", "docs", "--repo", str(repo), "--issue-json", str(ISSUE_JSON), "--yes")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "### Steward plan: `docs` for #7" in out and "<!--" not in out.split("=== diff")[0]
    assert "1. [x] Update CHANGELOG.md: add `#7` under Unreleased → Added" in out  # numbered for --skip
    assert (
        "+- Add --times and --shout options to the greeter ([#7](https://github.com/example/sample/issues/7))"
        in out
    )
    assert "+  --shout        greet in capitals" in out  # the real --help, from the sandbox
    assert "=== pull request it would open ===" in out and "### Diff stat" in out
    run_id = out.rsplit("steward runs show ", 1)[1].split()[0]
    assert git(repo, "rev-parse", "HEAD") == head  # the checkout itself is untouched
    assert sorted(git(repo, "diff", "--name-only", head, "steward/docs/7").split()) == [
        "CHANGELOG.md", "README.md", "docs/usage.md",
    ]  # fmt: skip
    assert f"Steward-Run: {run_id}" in git(repo, "log", "-1", "--format=%B", "steward/docs/7")
    assert git(repo, "remote") == ""  # nothing to push to, and nothing pushed
    shown = steward(tmp_path, "runs", "show", run_id)
    assert shown.returncode == 0 and "proposed" in shown.stdout and "python3 -m sample --help" in shown.stdout
    again = steward(tmp_path, "run", "docs", "--repo", str(repo), "--issue-json", str(ISSUE_JSON), "--yes")
    assert again.returncode == 1 and "branch steward/docs/7 already exists" in again.stderr


@pytest.mark.docker
def test_declining_on_the_terminal_runs_nothing(tmp_path: Path) -> None:
    repo = checkout(tmp_path, "Add the greeter options (#7)")
    done = steward(tmp_path, "run", "docs", "--repo", str(repo), stdin="n\n")
    assert done.returncode == 0, done.stderr
    assert "Run this plan?" in done.stdout and "is cancelled" in done.stdout
    assert "for #7" in done.stdout  # the item came from the last commit's subject
    assert subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "-q", "steward/docs/7"],
                          capture_output=True, check=False).returncode != 0  # fmt: skip


def test_clear_errors_before_anything_runs(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert "is not a git repository" in steward(tmp_path, "run", "docs", "--repo", str(plain)).stderr
    repo = checkout(tmp_path)
    no_ref = steward(tmp_path, "run", "docs", "--repo", str(repo), "--yes")
    assert no_ref.returncode == 1 and "pass one with --issue-json" in no_ref.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"title": "no number"}))
    assert (
        "gh issue view N --json"
        in steward(tmp_path, "run", "docs", "--repo", str(repo), "--issue-json", str(bad)).stderr
    )
    missing = steward(
        tmp_path, "run", "docs", "--repo", str(repo), "--issue-json", str(ISSUE_JSON), "--yes",
        STEWARD_SANDBOX_IMAGE="steward-sandbox:missing",
    )  # fmt: skip
    assert missing.returncode == 1 and "steward sandbox build" in missing.stderr
    down = steward(
        tmp_path, "run", "docs", "--repo", str(repo), "--issue-json", str(ISSUE_JSON), "--yes",
        DOCKER_HOST=f"unix://{tmp_path / 'no-docker.sock'}",
    )  # fmt: skip
    assert down.returncode == 1 and "Docker is not reachable" in down.stderr
    (repo / "README.md").write_text("changed\n")
    dirty = steward(tmp_path, "run", "docs", "--repo", str(repo), "--issue-json", str(ISSUE_JSON), "--yes")
    assert dirty.returncode == 1 and "uncommitted changes" in dirty.stderr


@pytest.mark.docker
def test_a_diff_outside_the_docs_paths_is_refused_and_no_branch_is_made(tmp_path: Path) -> None:
    repo = tmp_path / "sample"
    shutil.copytree(SAMPLE, repo)
    code = "import os; os.makedirs('src', exist_ok=True); open('src/x.py', 'w').write('x'); print('ok')"
    (repo / "docs" / "evil.md").write_text(
        f'<!-- steward:exec python3 -c "{code}" -->\n```\n```\n<!-- /steward:exec -->\n'
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "sample")
    done = steward(tmp_path, "run", "docs", "--repo", str(repo), "--issue-json", str(ISSUE_JSON), "--yes")
    assert done.returncode == 1
    assert "refused as a whole; nothing was pushed" in done.stderr and "src/x.py" in done.stderr
    assert git(repo, "branch", "--list", "steward/*") == ""
