"""`steward sandbox run --repo` copies what git sees (tracked, untracked not ignored), links as links."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import copy as sandbox_copy
from sandbox.copy import copy_repo
from tests.run_fixtures import git
from tests.sandbox_fixtures import docker_client, sandbox_image  # noqa: F401


def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".venv" / "lib").mkdir(parents=True)
    (repo / ".venv" / "lib" / "big.bin").write_bytes(b"x" * 100_000)
    (repo / "pkg").mkdir()
    (repo / "pkg" / "mod.py").write_text("print(1)\n")
    (repo / ".gitignore").write_text(".venv/\n*.log\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "start")
    (repo / "new.py").write_text("untracked, not ignored\n")
    (repo / "debug.log").write_text("ignored\n")
    secret = tmp_path / "outside.txt"
    secret.write_text("host secret\n")
    (repo / "link").symlink_to(secret)
    (repo / "linkdir").symlink_to(tmp_path)
    return repo


def names(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir() or p.is_symlink())


def test_a_git_checkout_is_copied_as_git_sees_it(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    said: list[str] = []
    copied = copy_repo(repo, tmp_path / "copy", said.append)
    dest = tmp_path / "copy"
    assert names(dest) == [".gitignore", "link", "linkdir", "new.py", "pkg/mod.py"]
    assert (dest / "link").is_symlink() and os.readlink(dest / "link") == str(tmp_path / "outside.txt")
    assert copied.files == 5 and said == []  # small: no progress line, and not "everything"


def test_a_subdirectory_copies_only_its_part(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    copy_repo(repo / "pkg", tmp_path / "copy", lambda _: None)
    assert names(tmp_path / "copy") == ["mod.py"]


def test_a_plain_directory_is_copied_whole_and_says_so(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    (plain / ".venv").mkdir(parents=True)
    (plain / ".venv" / "x").write_text("x")
    (plain / "a.py").write_text("a")
    said: list[str] = []
    copy_repo(plain, tmp_path / "copy", said.append)
    assert names(tmp_path / "copy") == [".venv/x", "a.py"]
    assert said and "not a git checkout" in said[0]


def test_a_large_copy_prints_a_line_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = checkout(tmp_path)
    monkeypatch.setattr(sandbox_copy, "PROGRESS_FILES", 2)
    said: list[str] = []
    copy_repo(repo, tmp_path / "copy", said.append)
    assert said == ["copying 5 files (0 MiB) into the sandbox..."]


def test_the_checkout_config_runs_nothing(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    marker = tmp_path / "ran"
    git(repo, "config", "core.fsmonitor", f"sh -c 'touch {marker}'")
    copy_repo(repo, tmp_path / "copy", lambda _: None)
    assert not marker.exists()


@pytest.mark.docker
def test_sandbox_run_leaves_the_ignored_venv_out(sandbox_image: str, tmp_path: Path) -> None:  # noqa: F811
    repo = checkout(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "STEWARD_SANDBOX_IMAGE": sandbox_image}
    cli = [sys.executable, "-c", "from app.cli import main; main()"]
    done = subprocess.run(
        [*cli, "sandbox", "run", "--repo", str(repo), "--", "sh", "-c", "ls -A; cat link || true"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = done.stdout.split()
    assert ".venv" not in listed and "debug.log" not in listed and "new.py" in listed
    assert (
        "host secret" not in done.stdout
    )  # the link is copied as a link; its target is not on the host side
