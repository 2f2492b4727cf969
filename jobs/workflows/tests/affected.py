"""Which files a tests run is about, decided on the host from the checkout's file list (no code is run)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jobs.runs.workflow import WorkItem
from sandbox.tracked import tracked_files

MAX_FILES = 20000
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
SUPPORTED = "Python projects (a pyproject.toml, setup.py or setup.cfg, or .py sources)"
_NAMED = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*[\w.-]+\.py)\b")
"""A path ending in .py as an issue's text would name it (`src/pkg/mod.py`, `mod.py`)."""


class NotPythonError(ValueError):
    """The repository is not a Python project; the message names what is supported."""


@dataclass(frozen=True)
class Affected:
    """The files to write tests for, and where that choice came from (said in the plan)."""

    files: tuple[str, ...]
    source: str
    """`paths given`, `the pull request's changed files`, `files the issue names`, `least-covered`."""


def repository_files(workspace: Path, git_dir: Path | None) -> list[str]:
    """The checkout's tracked files (git's index, named explicitly), or its regular files without one."""
    return tracked_files(workspace, git_dir, MAX_FILES)


def is_test_file(path: str) -> bool:
    """A test module or pytest plumbing by the usual conventions (never a target of generation)."""
    name = path.rsplit("/", 1)[-1]
    parts = path.split("/")[:-1]
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or any(part in ("tests", "test", "testing") for part in parts)
    )


def source_files(files: Iterable[str]) -> list[str]:
    """Python sources that are not tests, setup scripts, docs or examples."""
    skipped = ("docs", "doc", "examples", "example", "benchmarks", "bench", "scripts", ".github")
    return [
        path
        for path in files
        if path.endswith(".py")
        and not is_test_file(path)
        and path not in ("setup.py", "noxfile.py", "conftest.py", "fabfile.py")
        and path.split("/", 1)[0] not in skipped
    ]


def require_python(files: list[str]) -> None:
    """Refuse a repository with neither Python project files nor Python sources."""
    if any(path in PROJECT_FILES for path in files) or source_files(files):
        return
    raise NotPythonError(
        f"this repository does not look like a Python project (no {', '.join(PROJECT_FILES)} and no .py "
        f"source files); the tests workflow supports {SUPPORTED} only"
    )


def choose(item: WorkItem, files: list[str]) -> Affected:
    """Paths given win; then a PR's changed sources; then what an issue names; else least-covered."""
    sources = set(source_files(files))
    if item.paths:
        given = [_clean(path) for path in item.paths]
        return Affected(tuple(_expand(given, sources)), "paths given")
    changed = [path for path in item.changed_files if path in sources]
    if item.issue.is_pull_request and changed:
        return Affected(tuple(sorted(set(changed))), "the pull request's changed files")
    if not item.issue.is_pull_request:
        named = sorted({match for match in _NAMED.findall(item.issue.body or "") if match in sources})
        if named:
            return Affected(tuple(named), "files the issue names")
        if changed:
            return Affected(tuple(sorted(set(changed))), "the changed files of its linked pull requests")
    return Affected((), "least-covered")


def _clean(path: str) -> str:
    return path.strip().removeprefix("./").rstrip("/")


def _expand(given: list[str], sources: set[str]) -> list[str]:
    """Files given as is; a directory given stands for the sources below it."""
    found: set[str] = set()
    for path in given:
        if path in sources:
            found.add(path)
        else:
            found |= {source for source in sources if source.startswith(path + "/")}
    return sorted(found)


def unknown_paths(item: WorkItem, files: list[str]) -> list[str]:
    """Given paths that name no Python source of the checkout (said in the plan's notes)."""
    sources = set(source_files(files))
    return [
        path
        for path in (_clean(p) for p in item.paths)
        if path not in sources and not any(s.startswith(path + "/") for s in sources)
    ]
