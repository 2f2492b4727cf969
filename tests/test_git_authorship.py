"""Which files on a branch are Steward's own, read from real git history: added by commits its bot authored
and committed with a `Steward-Run` trailer, and touched by nobody else since; links, files people added and
commits a person re-made (amended) never count."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sandbox.authorship import steward_added, steward_added_or_none
from sandbox.git import Identity

pytestmark = pytest.mark.anyio

BOT = Identity("steward[bot]", "steward@users.noreply.github.com")
PERSON = {"GIT_AUTHOR_NAME": "Rita", "GIT_AUTHOR_EMAIL": "rita@example.com"}
BASE = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/local/bin:/usr/bin:/bin"}
TRAILER = "\n\nSteward-Run: r-0123456789\n"


def as_bot() -> dict[str, str]:
    return {
        "GIT_AUTHOR_NAME": BOT.name, "GIT_AUTHOR_EMAIL": BOT.email,
        "GIT_COMMITTER_NAME": BOT.name, "GIT_COMMITTER_EMAIL": BOT.email,
    }  # fmt: skip


def as_person() -> dict[str, str]:
    return {**PERSON, "GIT_COMMITTER_NAME": "Rita", "GIT_COMMITTER_EMAIL": "rita@example.com"}


def git(repo: Path, who: dict[str, str], *args: str) -> str:
    env = {**BASE, **who}
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def commit(repo: Path, who: dict[str, str], message: str, files: dict[str, str | None]) -> str:
    for path, text in files.items():
        if text is None:
            (repo / path).unlink()
        elif text.startswith("->"):
            os.symlink(text[2:], repo / path)
        else:
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_text(text)
    git(repo, who, "add", "-A")
    git(repo, who, "commit", "-q", "-m", message)
    return git(repo, who, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    """`main` with one file, and Steward's branch checked out from it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, as_person(), "init", "-q", "-b", "main")
    base = commit(repo, as_person(), "start", {"pkg/calc.py": "x = 1\n", "tests/test_calc.py": "x\n"})
    git(repo, as_person(), "checkout", "-q", "-b", "steward/tests/7")
    return repo, base


async def owners(repo: Path, base: str) -> dict[str, list[str]]:
    found = await steward_added(repo.parent, repo / ".git", base, "HEAD", BOT)
    return {file.path: [author.name for author in file.edits] for file in found}


async def test_files_steward_added_are_its_own_until_someone_else_touches_them(
    repo: tuple[Path, str],
) -> None:
    path, base = repo
    commit(path, as_bot(), "Add tests" + TRAILER, {
        "tests/test_calc_steward.py": "a\n", "tests/test_edited_steward.py": "b\n",
        "tests/test_gone_steward.py": "c\n", "tests/link_steward.py": "->../pkg/calc.py",
    })  # fmt: skip
    commit(path, as_person(), "my edit", {"tests/test_edited_steward.py": "b, by Rita\n"})
    commit(path, as_person(), "mine", {"tests/test_mine.py": "d\n", "tests/test_gone_steward.py": None})
    commit(path, as_bot(), "Refresh" + TRAILER, {"tests/test_calc_steward.py": "a2\n"})
    assert await owners(path, base) == {
        "tests/test_calc_steward.py": [],
        "tests/test_edited_steward.py": ["Rita"],
    }, "a link, a deleted file and a person's own file are never Steward's own"


async def test_a_commit_without_the_trailer_or_remade_by_a_person_is_not_stewards(
    repo: tuple[Path, str],
) -> None:
    path, base = repo
    commit(path, as_bot(), "Add tests, no trailer", {"tests/test_a_steward.py": "a\n"})
    commit(path, {**as_bot(), **PERSON}, "Author is Rita" + TRAILER, {"tests/test_b_steward.py": "b\n"})
    commit(path, as_bot(), "Add tests" + TRAILER, {"tests/test_c_steward.py": "c\n"})
    git(path, as_person(), "commit", "-q", "--amend", "--no-edit")  # Rita re-made it: her committer line
    assert await owners(path, base) == {}


async def test_a_clean_merge_of_main_is_no_edit_and_a_resolution_is(repo: tuple[Path, str]) -> None:
    path, _ = repo
    commit(
        path, as_bot(), "Add tests" + TRAILER, {"tests/test_calc_steward.py": "a\n", "x_steward.py": "1\n"}
    )
    git(path, as_person(), "checkout", "-q", "main")
    main = commit(path, as_person(), "main moves", {"pkg/calc.py": "x = 2\n", "x_steward.py": "2\n"})
    git(path, as_person(), "checkout", "-q", "steward/tests/7")
    done = subprocess.run(["git", "merge", "-q", "--no-edit", "main"], cwd=path, env={**BASE, **as_person()},
                          capture_output=True, check=False)  # fmt: skip
    assert done.returncode != 0, "x_steward.py conflicts"
    (path / "x_steward.py").write_text("3\n")
    git(path, as_person(), "commit", "-qam", "merge main, resolved")
    assert await owners(path, main) == {"tests/test_calc_steward.py": [], "x_steward.py": ["Rita"]}


async def test_git_that_cannot_tell_makes_nothing_stewards(repo: tuple[Path, str]) -> None:
    path, _ = repo
    commit(path, as_bot(), "Add tests" + TRAILER, {"tests/test_calc_steward.py": "a\n"})
    missing = "0" * 40
    assert await steward_added_or_none(path.parent, path / ".git", missing, "HEAD", BOT) == []
