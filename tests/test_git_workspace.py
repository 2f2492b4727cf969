"""Host-side git against real bare repositories: clone at a commit, whole-diff policy, push, clean up."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sandbox import git as hostgit
from sandbox.diffcheck import FileChange, PathPolicy, check_diff

pytestmark = pytest.mark.anyio

BOT = hostgit.Identity("steward[bot]", "123+steward[bot]@users.noreply.github.com")
DOCS = PathPolicy(allowed=("docs/**", "*.md"), max_files=10, max_lines=200)
FILES = {
    "README.md": "# Project\n",
    "docs/guide.md": "Guide\n",
    "src/app.py": "print('app')\n",
    ".github/workflows/ci.yml": "on: push\n",
}


def sh(*argv: str, cwd: Path | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def make_remote(tmp_path: Path) -> tuple[Path, str]:
    """A bare repository with one commit on main; returns its path and that commit."""
    seed, bare = tmp_path / "seed", tmp_path / "remote.git"
    seed.mkdir()
    for name, text in FILES.items():
        (seed / name).parent.mkdir(parents=True, exist_ok=True)
        (seed / name).write_text(text)
    sh("git", "init", "-q", "-b", "main", str(seed))
    sh("git", "-C", str(seed), "add", "-A")
    sh("git", "-C", str(seed), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "init")
    sh("git", "clone", "-q", "--bare", str(seed), str(bare))
    return bare, sh("git", "-C", str(seed), "rev-parse", "HEAD").strip()


def remote_branches(bare: Path) -> list[str]:
    return sh("git", "-C", str(bare), "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


@pytest.fixture
def remote(tmp_path: Path) -> tuple[Path, str]:
    return make_remote(tmp_path)


async def _clone(bare: Path, commit: str, root: Path) -> hostgit.Workspace:
    branch = hostgit.branch_name("docs", 7)
    return await hostgit.clone(bare.as_uri(), commit, root=root, branch=branch, ref="main")


async def test_clone_checks_out_the_commit_on_the_run_branch_outside_the_sandbox_view(
    remote: tuple[Path, str], tmp_path: Path
) -> None:
    bare, commit = remote
    ws = await _clone(bare, commit, tmp_path / "run")
    assert sorted(
        p.relative_to(ws.work_tree).as_posix() for p in ws.work_tree.rglob("*") if p.is_file()
    ) == sorted(FILES)
    assert not (ws.work_tree / ".git").exists()  # the git directory is beside the work tree, not in it
    assert ws.work_tree.stat().st_uid == 1000 and (ws.work_tree / "src" / "app.py").stat().st_uid == 1000
    head = sh("git", f"--git-dir={ws.git_dir}", "symbolic-ref", "HEAD").strip()
    assert head == "refs/heads/steward/docs/7"
    assert sh("git", f"--git-dir={ws.git_dir}", "rev-parse", "HEAD").strip() == commit


async def test_allowed_change_is_committed_as_the_bot_with_the_trailer_and_pushed(
    remote: tuple[Path, str], tmp_path: Path
) -> None:
    bare, commit = remote
    ws = await _clone(bare, commit, tmp_path / "run")
    (ws.work_tree / "docs" / "guide.md").write_text("Guide\nMore.\n")
    (ws.work_tree / "docs" / "new.md").write_text("New page\n")
    sha = await hostgit.commit_and_push(ws, policy=DOCS, run_id="run-42", message="Update docs", identity=BOT)
    assert sha is not None
    assert "steward/docs/7" in remote_branches(bare)
    log = sh("git", "-C", str(bare), "log", "-1", "--format=%H%n%an%n%ae%n%B", "steward/docs/7").splitlines()
    assert log[:3] == [sha, BOT.name, BOT.email]
    assert "Steward-Run: run-42" in log
    changed = sh("git", "-C", str(bare), "diff", "--name-only", commit, "steward/docs/7").split()
    assert changed == ["docs/guide.md", "docs/new.md"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (".github/workflows/ci.yml", "may never change"),
        ("src/app.py", "outside what this workflow declares"),
    ],
)
async def test_a_diff_breaking_the_policy_is_refused_whole_and_nothing_is_pushed(
    remote: tuple[Path, str], tmp_path: Path, path: str, reason: str
) -> None:
    bare, commit = remote
    ws = await _clone(bare, commit, tmp_path / "run")
    (ws.work_tree / "docs" / "guide.md").write_text("An allowed edit\n")
    (ws.work_tree / path).write_text("changed by the sandbox\n")
    with pytest.raises(hostgit.DiffRefusedError) as refused:
        await hostgit.commit_and_push(ws, policy=DOCS, run_id="run-43", message="m", identity=BOT)
    assert path in str(refused.value) and reason in str(refused.value)
    assert "docs/guide.md" not in str(refused.value)
    assert remote_branches(bare) == ["main"]
    assert sh("git", f"--git-dir={ws.git_dir}", "rev-parse", "HEAD").strip() == commit  # nothing committed


async def test_too_many_files_is_refused(remote: tuple[Path, str], tmp_path: Path) -> None:
    bare, commit = remote
    ws = await _clone(bare, commit, tmp_path / "run")
    for i in range(3):
        (ws.work_tree / "docs" / f"p{i}.md").write_text("x\n")
    small = PathPolicy(allowed=("docs/**",), max_files=2, max_lines=200)
    with pytest.raises(hostgit.DiffRefusedError, match="changes 3 files; the limit is 2"):
        await hostgit.commit_and_push(ws, policy=small, run_id="r", message="m", identity=BOT)
    assert remote_branches(bare) == ["main"]


async def test_no_change_pushes_nothing(remote: tuple[Path, str], tmp_path: Path) -> None:
    bare, commit = remote
    ws = await _clone(bare, commit, tmp_path / "run")
    assert await hostgit.commit_and_push(ws, policy=DOCS, run_id="r", message="m", identity=BOT) is None
    assert remote_branches(bare) == ["main"]


async def test_remove_deletes_the_workspace(remote: tuple[Path, str], tmp_path: Path) -> None:
    bare, commit = remote
    ws = await _clone(bare, commit, tmp_path / "run")
    hostgit.remove(ws)
    assert not ws.root.exists()


async def test_credentials_in_the_url_are_refused(tmp_path: Path) -> None:
    with pytest.raises(hostgit.GitError, match="must not carry credentials"):
        await hostgit.clone(
            "https://x-access-token:ghs_x@github.com/o/r.git", "a" * 40, root=tmp_path, branch="b"
        )


@pytest.mark.parametrize(
    ("path", "verdict"),
    [
        ("docs/a/b.md", "ok"),
        ("README.md", "ok"),
        ("sub/README.md", "undeclared"),
        (".github/workflows/ci.yml", "denied"),
        (".GitHub/Workflows/CI.yml", "denied"),
        (".github/steward.yml", "denied"),
        ("docs/../.github/workflows/x.yml", "denied"),
        ("../outside.md", "denied"),
        ("secrets/key.md", "denied"),
    ],
)
def test_path_policy_table(path: str, verdict: str) -> None:
    policy = PathPolicy(allowed=("docs/**", "*.md", "secrets/**"), denied=("secrets/**",))
    result = check_diff([FileChange(path, 1, 0)], policy)
    outcome = "denied" if result.denied_paths else "undeclared" if result.undeclared_paths else "ok"
    assert outcome == verdict


def test_line_limit_counts_added_and_removed() -> None:
    policy = PathPolicy(allowed=("docs/**",), max_lines=10)
    assert check_diff([FileChange("docs/a.md", 5, 5)], policy).ok
    refused = check_diff([FileChange("docs/a.md", 6, 5)], policy)
    assert refused.too_many_lines and "changes 11 lines; the limit is 10" in refused.message(policy)


async def test_test_and_install_leftovers_are_not_part_of_the_change(
    remote: tuple[Path, str], tmp_path: Path
) -> None:
    bare, commit = remote
    ws = await _clone(bare, commit, tmp_path / "run")
    for junk in ("src/__pycache__/app.cpython-311.pyc", ".pytest_cache/v/cache", "pkg.egg-info/PKG-INFO"):
        (ws.work_tree / junk).parent.mkdir(parents=True, exist_ok=True)
        (ws.work_tree / junk).write_text("junk")
    (ws.work_tree / "docs" / "guide.md").write_text("Edited\n")
    assert [c.path for c in await hostgit.changes(ws)] == ["docs/guide.md"]
