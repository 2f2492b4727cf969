"""Scoped writes: a diff is checked whole against the workflow's path policy before anything is committed."""

from __future__ import annotations

from dataclasses import dataclass, field

from policies.globs import glob_match, normalize_path

ALWAYS_DENIED = (".github/workflows/**", ".github/steward.yml", ".git/**", ".gitmodules")
"""Never writable, whatever a policy says (the same list as policies.model.ALWAYS_DENIED)."""


@dataclass(frozen=True)
class FileChange:
    """One path in the diff; a rename appears as a deletion and an addition."""

    path: str
    added: int
    removed: int
    binary: bool = False


@dataclass(frozen=True)
class PathPolicy:
    """What a workflow may change: globs it may write, globs it may never write, and size limits."""

    allowed: tuple[str, ...]
    denied: tuple[str, ...] = ()
    max_files: int = 50
    max_lines: int = 2000


@dataclass(frozen=True)
class DiffVerdict:
    """Whether the whole diff may be pushed, and if not, every reason."""

    denied_paths: list[str] = field(default_factory=list)
    undeclared_paths: list[str] = field(default_factory=list)
    too_many_files: bool = False
    too_many_lines: bool = False
    files: int = 0
    lines: int = 0

    @property
    def ok(self) -> bool:
        return not (self.denied_paths or self.undeclared_paths or self.too_many_files or self.too_many_lines)

    def message(self, policy: PathPolicy) -> str:
        """What a maintainer reads when the diff is refused."""
        if self.ok:
            return "The diff is within the workflow's path policy."
        parts = ["The change was refused as a whole; nothing was pushed."]
        if self.denied_paths:
            parts.append("It touches paths Steward may never change: " + ", ".join(self.denied_paths) + ".")
        if self.undeclared_paths:
            allowed = ", ".join(policy.allowed) or "nothing"
            parts.append(
                "It touches paths outside what this workflow declares ("
                + allowed
                + "): "
                + ", ".join(self.undeclared_paths)
                + "."
            )
        if self.too_many_files:
            parts.append(f"It changes {self.files} files; the limit is {policy.max_files}.")
        if self.too_many_lines:
            parts.append(f"It changes {self.lines} lines; the limit is {policy.max_lines}.")
        return " ".join(parts)


def check_diff(changes: list[FileChange], policy: PathPolicy) -> DiffVerdict:
    """Every offending path is listed, so one refusal tells the whole story."""
    denied: list[str] = []
    undeclared: list[str] = []
    for change in changes:
        path = normalize_path(change.path)
        if path is None:
            denied.append(change.path)
            continue
        # Denials ignore case: a case-insensitive checkout would turn .GitHub/Workflows into the real thing.
        if any(glob_match(g, path, ignore_case=True) for g in (*ALWAYS_DENIED, *policy.denied)):
            denied.append(path)
        elif not any(glob_match(g, path) for g in policy.allowed):
            undeclared.append(path)
    lines = sum(c.added + c.removed for c in changes)
    return DiffVerdict(
        denied_paths=denied,
        undeclared_paths=undeclared,
        too_many_files=len(changes) > policy.max_files,
        too_many_lines=lines > policy.max_lines,
        files=len(changes),
        lines=lines,
    )
