"""What `steward sandbox run --repo` copies: the files git would see (tracked, plus untracked not ignored)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sandbox.git import DEFAULT_PATH, SAFE_OPTIONS

PROGRESS_FILES = 2000
PROGRESS_BYTES = 64 * 1024**2
"""A copy above either of these prints a line first, so a long wait is explained."""
LIST_TIMEOUT_SECONDS = 60
SUBMODULE_DEPTH = 3

Say = Callable[[str], None]


class CopyError(OSError):
    """The checkout cannot be listed; the message says why."""


@dataclass
class Copied:
    files: int = 0
    size: int = 0
    skipped: int = 0
    """Entries reached through a link out of the repository (never followed), or not files at all."""


def find_git(start: Path) -> tuple[Path, Path] | None:
    """The work tree and git dir that `start` belongs to (a `.git` file for worktrees), or None."""
    for top in [start, *start.parents]:
        dot = top / ".git"
        if dot.is_dir() and not dot.is_symlink():
            return top, dot
        if dot.is_file() and not dot.is_symlink():
            text = dot.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                return top, (top / text.removeprefix("gitdir:").strip()).resolve()
    return None


def _clean_env(home: str) -> dict[str, str]:
    """No host git configuration or hooks: the listing must not run anything the checkout names."""
    return {
        "PATH": os.environ.get("PATH", DEFAULT_PATH),
        "HOME": home,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }


def git_listed(top: Path, git_dir: Path, under: str = "") -> list[str]:
    """Paths (relative to `under`) git tracks or would add: ignored ones, `.venv` among them, left out."""
    argv = [
        "git", *SAFE_OPTIONS, f"--git-dir={git_dir}", f"--work-tree={top}",
        "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", under or ".",
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="steward-git-home-") as home:
        try:
            done = subprocess.run(
                argv,
                cwd=top,
                env=_clean_env(home),
                capture_output=True,
                timeout=LIST_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CopyError(f"git ls-files in {top} took over {LIST_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        raise CopyError(f"git ls-files in {top} failed: {done.stderr.decode(errors='replace').strip()}")
    prefix = f"{under}/" if under else ""
    names = (name for name in done.stdout.decode("utf-8", errors="surrogateescape").split("\0") if name)
    return list(dict.fromkeys(name.removeprefix(prefix) for name in names))


def _walk(root: Path) -> Iterator[str]:
    """Every entry under root, links not followed (a directory that is not a git checkout)."""
    for here, dirs, files in os.walk(root, followlinks=False):
        rel = Path(here).relative_to(root)
        for name in files + [d for d in dirs if (Path(here) / d).is_symlink()]:
            yield str(rel / name) if str(rel) != "." else name


def _inside(root: str, path: Path) -> bool:
    real = os.path.realpath(path.parent)
    return real == root or real.startswith(root + os.sep)


def _copy_one(src: Path, dest: Path, root: str, copied: Copied) -> None:
    try:
        info = src.lstat()
    except FileNotFoundError:
        return  # tracked but deleted in the work tree: the work tree is what is copied
    if not _inside(root, src) or not (src.is_symlink() or src.is_file()):
        copied.skipped += 1
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest, follow_symlinks=False)  # a link is copied as a link, never followed
    copied.files += 1
    copied.size += info.st_size


def _entries(repo: Path, say: Say) -> list[str]:
    found = find_git(repo)
    if found is None:
        say(f"{repo} is not a git checkout: copying everything in it (ignored files too)")
        return list(_walk(repo))
    top, git_dir = found
    under = "" if top == repo else str(repo.relative_to(top))
    return git_listed(top, git_dir, under)


def copy_repo(repo: Path, dest: Path, say: Say, depth: int = 0) -> Copied:
    """Copy repo to dest as git sees it (ignored files left out); say a line first when the copy is large."""
    repo = repo.resolve()
    names = _entries(repo, say)
    sizes = {name: _size(repo / name) for name in names}
    total = sum(sizes.values())
    if depth == 0 and (len(names) > PROGRESS_FILES or total > PROGRESS_BYTES):
        say(f"copying {len(names)} files ({total / 1024**2:.0f} MiB) into the sandbox...")
    copied = Copied()
    dest.mkdir(parents=True, exist_ok=True)
    root = os.path.realpath(repo)
    for name in names:
        src = repo / name
        if src.is_dir() and not src.is_symlink() and depth < SUBMODULE_DEPTH:  # a submodule's gitlink
            inner = copy_repo(src, dest / name, say, depth + 1)
            copied.files, copied.size = copied.files + inner.files, copied.size + inner.size
            copied.skipped += inner.skipped
            continue
        _copy_one(src, dest / name, root, copied)
    if copied.skipped and depth == 0:
        say(f"skipped {copied.skipped} entries reached through a link out of {repo} or not plain files")
    return copied


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0
