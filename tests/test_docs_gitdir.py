"""Host git on a workspace names its repository: no enclosing work tree, planted `.git` or GIT_* counts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.config.model import DocsConfig
from app.github.protocol import IssueRecord
from jobs.workflows.docs.engine import apply_docs, plan_docs
from jobs.workflows.docs.files import tracked_files
from policies.loader import effective_policy, load_policy
from sandbox import git as hostgit
from sandbox.base import CommandResult
from tests.run_fixtures import git
from tests.test_local_run import ISSUE_JSON, checkout, steward

pytestmark = pytest.mark.anyio

ISSUE = IssueRecord(
    number=3, title="Document the flags", body="", state="closed", is_pull_request=False,
    author="alice", labels=[], html_url="https://github.com/octo/widgets/issues/3",
)  # fmt: skip
GUIDE = "# Guide\n\n<!-- steward:exec widgets --help -->\nold\n<!-- /steward:exec -->\n"


def _sh(*argv: str, cwd: Path | None = None) -> str:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=True).stdout


def _repo(path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    _sh("git", "init", "-q", "-b", "main", str(path))
    _sh("git", "-C", str(path), "add", "-A")
    _sh("git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "init")
    return path


async def _clone(tmp_path: Path, root: Path) -> hostgit.Workspace:
    seed = _repo(tmp_path / "seed", {"docs/guide.md": GUIDE, "CHANGELOG.md": "# Changelog\n"})
    commit = _sh("git", "-C", str(seed), "rev-parse", "HEAD").strip()
    return await hostgit.clone(seed.as_uri(), commit, root=root, branch="steward/docs/3", ref="main")


async def runner(argv: list[str]) -> CommandResult:
    return CommandResult(0, f"usage: {' '.join(argv)}\n", 0.1)


async def test_exec_blocks_are_refreshed_when_the_data_dir_sits_in_a_git_work_tree(tmp_path: Path) -> None:
    outer = _repo(tmp_path / "outer", {"README.md": "# Outer\n"})
    ws = await _clone(tmp_path, outer / "data" / "workspaces" / "run-1")
    config = DocsConfig()
    policy = effective_policy(load_policy("docs"), config)
    plan = plan_docs(ws.work_tree, ISSUE, config, policy, git_dir=ws.git_dir)
    assert [s.title for s in plan.steps if s.id.startswith("exec-")] == [
        "Refresh the generated block in docs/guide.md"
    ]
    outcome = await apply_docs(ws.work_tree, plan, ISSUE, config, runner, git_dir=ws.git_dir)
    assert "docs/guide.md" in outcome.changed
    assert "usage: widgets --help" in (ws.work_tree / "docs/guide.md").read_text()


async def test_a_planted_dot_git_and_inherited_git_variables_are_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = await _clone(tmp_path, tmp_path / "run")
    host = _repo(tmp_path / "host-repo", {"secret.md": "host only\n", "docs/other.md": "x\n"})
    (ws.work_tree / ".git").write_text(f"gitdir: {host / '.git'}\n")  # what the sandbox could leave
    monkeypatch.setenv("GIT_DIR", str(host / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(host / ".git" / "index"))
    monkeypatch.setenv("GIT_WORK_TREE", str(host))
    assert tracked_files(ws.work_tree, ws.git_dir) == ["CHANGELOG.md", "docs/guide.md"]
    (ws.work_tree / ".git").unlink()
    (ws.work_tree / ".git").symlink_to(host / ".git")
    assert tracked_files(ws.work_tree, ws.git_dir) == ["CHANGELOG.md", "docs/guide.md"]


@pytest.mark.docker
def test_a_local_run_with_its_data_dir_inside_a_git_work_tree_still_refreshes_blocks(tmp_path: Path) -> None:
    """The new user's case: `steward run docs` with STEWARD_DATA_DIR inside a repository."""
    repo = checkout(tmp_path)
    git(tmp_path, "init", "-q", "-b", "main")  # tmp_path, and so the data dir, is now inside a work tree
    done = steward(tmp_path, "run", "docs", "--repo", str(repo), "--issue-json", str(ISSUE_JSON), "--yes")
    assert done.returncode == 0, done.stderr
    changed = sorted(git(repo, "diff", "--name-only", "HEAD", "steward/docs/7").split())
    assert changed == ["CHANGELOG.md", "README.md", "docs/usage.md"]
