"""A revision's merge of the default branch into its pull request's branch, against real bare repositories:
a merge commit on top of the branch (never a rebase), made in the git directory before the checkout; a
conflict makes nothing and checks nothing out; a branch that already holds the base gets no merge commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sandbox import git as hostgit
from sandbox.basemerge import BaseConflict, MergeIn
from sandbox.diffcheck import PathPolicy

pytestmark = pytest.mark.anyio

BOT = hostgit.Identity("steward[bot]", "steward@users.noreply.github.com")
DOCS = PathPolicy(allowed=("docs/**", "*.md"), max_files=10, max_lines=200)
BRANCH = "steward/docs/7"
ENV = {
    "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
}  # fmt: skip


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, text=True, check=True)
    return done.stdout.strip()


class Repo:
    """A bare remote with `main` and Steward's branch, and a clone that pushes to either."""

    def __init__(self, tmp: Path) -> None:
        self.bare, self.dev = tmp / "remote.git", tmp / "dev"
        self.dev.mkdir()
        git(self.dev, "init", "-q", "-b", "main")
        self.commit({"README.md": "# Project\n", "docs/guide.md": "one\ntwo\nthree\n", "src/app.py": "x\n"})
        git(tmp, "init", "-q", "--bare", "-b", "main", str(self.bare))
        git(self.dev, "remote", "add", "origin", str(self.bare))
        git(self.dev, "push", "-q", "origin", "main")
        self.forked = git(self.dev, "rev-parse", "HEAD")
        git(self.dev, "checkout", "-q", "-b", BRANCH)
        self.head = self.commit({"docs/guide.md": "one\nTWO\nthree\n"}, push=BRANCH)
        git(self.dev, "checkout", "-q", "main")

    def commit(self, files: dict[str, str], push: str | None = None) -> str:
        for path, text in files.items():
            (self.dev / path).parent.mkdir(parents=True, exist_ok=True)
            (self.dev / path).write_text(text)
        git(self.dev, "add", "-A")
        git(self.dev, "commit", "-qm", f"change {', '.join(files)}")
        if push is not None:
            git(self.dev, "push", "-q", "origin", f"HEAD:{push}")
        return git(self.dev, "rev-parse", "HEAD")

    def parents(self, sha: str) -> list[str]:
        return git(self.bare, "rev-list", "--parents", "-n", "1", sha).split()[1:]


def wanted(sha: str) -> MergeIn:
    return MergeIn(sha=sha, ref="main", name=BOT.name, email=BOT.email, date="@1700000000 +0000",
                   message=f"Merge main into {BRANCH}\n\nSteward-Run: r-1\n")  # fmt: skip


async def clone(repo: Repo, root: Path, base: str) -> hostgit.Workspace:
    return await hostgit.clone(
        repo.bare.as_uri(), repo.head, root=root, branch=BRANCH, ref=BRANCH, merge=wanted(base)
    )


async def test_a_moved_base_is_merged_in_as_a_commit_on_top_and_pushed_as_a_fast_forward(
    tmp_path: Path,
) -> None:
    repo = Repo(tmp_path)
    base = repo.commit({"src/app.py": "y\n", "README.md": "# Project\n\nMore.\n"}, push="main")
    ws = await clone(repo, tmp_path / "ws", base)
    assert ws.merged is not None and ws.commit == ws.merged.commit
    assert (ws.merged.head, ws.merged.since, ws.merged.base) == (repo.head, repo.forked, base)
    assert (ws.work_tree / "src/app.py").read_text() == "y\n", "the base's change is checked out"
    assert (ws.work_tree / "docs/guide.md").read_text() == "one\nTWO\nthree\n", "so is the branch's"

    (ws.work_tree / "docs/guide.md").write_text("one\nTWO\nthree\nfour\n")
    sha = await hostgit.commit_and_push(ws, policy=DOCS, run_id="r-1", message="docs", identity=BOT)
    assert sha is not None and git(repo.bare, "rev-parse", BRANCH) == sha
    assert repo.parents(sha) == [ws.merged.commit], "Steward's change sits on the merge commit"
    assert repo.parents(ws.merged.commit) == [repo.head, base], "the branch's head first: nothing rewritten"
    assert "Steward-Run: r-1" in git(repo.bare, "log", "-1", "--format=%B", ws.merged.commit)
    assert git(repo.bare, "diff", "--name-only", ws.merged.commit, sha) == "docs/guide.md"


async def test_the_merge_alone_is_pushed_when_nothing_else_changes(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    base = repo.commit({"src/app.py": "y\n"}, push="main")
    ws = await clone(repo, tmp_path / "ws", base)
    assert ws.merged is not None
    sha = await hostgit.commit_and_push(ws, policy=DOCS, run_id="r-1", message="docs", identity=BOT)
    assert sha == ws.merged.commit == git(repo.bare, "rev-parse", BRANCH)
    repo.head = sha
    again = await clone(repo, tmp_path / "again", base)
    assert again.merged is None, "the branch now holds the base: no second merge"


async def test_a_conflicting_base_makes_nothing_and_checks_nothing_out(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    base = repo.commit({"docs/guide.md": "one\n2\nthree\n", "src/app.py": "y\n"}, push="main")
    with pytest.raises(BaseConflict) as caught:
        await clone(repo, tmp_path / "ws", base)
    assert caught.value.files == ["docs/guide.md"]
    assert (caught.value.since, caught.value.base) == (repo.forked, base)
    assert f"moved from {repo.forked[:12]} to {base[:12]}" in str(caught.value)
    assert not any((tmp_path / "ws" / "work").iterdir()), "nothing was checked out"
    assert git(repo.bare, "rev-parse", BRANCH) == repo.head


async def test_a_branch_that_holds_the_base_gets_no_merge_commit(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    ws = await clone(repo, tmp_path / "ws", repo.forked)  # the base has not moved
    assert ws.merged is None and ws.commit == repo.head
    base = repo.commit({"src/app.py": "y\n"}, push="main")
    git(repo.dev, "checkout", "-q", BRANCH)
    git(repo.dev, "merge", "-q", "--no-edit", "main")  # a person merged the base in already
    git(repo.dev, "push", "-q", "origin", f"HEAD:{BRANCH}")
    repo.head = git(repo.dev, "rev-parse", "HEAD")
    ws = await clone(repo, tmp_path / "ws2", base)
    assert ws.merged is None and ws.commit == repo.head
    assert await hostgit.commit_and_push(ws, policy=DOCS, run_id="r", message="m", identity=BOT) is None
