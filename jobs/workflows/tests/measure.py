"""coverage.py's JSON report, read as sets of covered lines and branches per repository file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from jobs.workflows.tests.sandboxenv import WORKSPACE

Branch = tuple[int, int]


class ReportError(ValueError):
    """The report is not coverage.py JSON (cut, or the run never wrote it)."""


@dataclass(frozen=True)
class FileCoverage:
    """One file's statements and branches, and which of them ran."""

    lines: frozenset[int] = frozenset()
    missing: frozenset[int] = frozenset()
    branches: frozenset[Branch] = frozenset()
    missing_branches: frozenset[Branch] = frozenset()

    @property
    def line_percent(self) -> float:
        total = len(self.lines) + len(self.missing)
        return 100.0 if total == 0 else 100.0 * len(self.lines) / total

    @property
    def branch_percent(self) -> float:
        total = len(self.branches) + len(self.missing_branches)
        return 100.0 if total == 0 else 100.0 * len(self.branches) / total

    def union(self, other: FileCoverage) -> FileCoverage:
        """What either run covered (a statement one run missed and the other ran counts as covered)."""
        lines = self.lines | other.lines
        branches = self.branches | other.branches
        return FileCoverage(
            lines=lines,
            missing=(self.missing | other.missing) - lines,
            branches=branches,
            missing_branches=(self.missing_branches | other.missing_branches) - branches,
        )


@dataclass(frozen=True)
class Report:
    """Coverage per repository path (only the files the report holds)."""

    files: dict[str, FileCoverage] = field(default_factory=dict)

    def get(self, path: str) -> FileCoverage:
        return self.files.get(path, FileCoverage())

    def union(self, other: Report) -> Report:
        paths = set(self.files) | set(other.files)
        return Report({path: self.get(path).union(other.get(path)) for path in sorted(paths)})

    def gain_over(self, base: Report, paths: list[str]) -> tuple[int, int]:
        """Lines and branches of these files covered here and not in base."""
        lines = sum(len(self.get(p).lines - base.get(p).lines) for p in paths)
        branches = sum(len(self.get(p).branches - base.get(p).branches) for p in paths)
        return lines, branches


def _branches(value: object) -> frozenset[Branch]:
    if not isinstance(value, list):
        return frozenset()
    return frozenset(
        (int(pair[0]), int(pair[1])) for pair in value if isinstance(pair, list) and len(pair) == 2
    )


def _lines(value: object) -> frozenset[int]:
    return frozenset(int(n) for n in value if isinstance(n, int)) if isinstance(value, list) else frozenset()


def _relative(name: str) -> str:
    prefix = WORKSPACE + "/"
    return name[len(prefix) :] if name.startswith(prefix) else name.removeprefix("./")


def parse_report(text: str) -> Report:
    """The report of `coverage json` (file names as the sandbox sees them made repository-relative)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ReportError(f"the coverage report is not JSON ({exc})") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        raise ReportError("the coverage report has no `files`")
    found = {}
    for name, entry in files.items():
        if not isinstance(entry, dict):
            continue
        found[_relative(str(name))] = FileCoverage(
            lines=_lines(entry.get("executed_lines")),
            missing=_lines(entry.get("missing_lines")),
            branches=_branches(entry.get("executed_branches")),
            missing_branches=_branches(entry.get("missing_branches")),
        )
    return Report(found)
