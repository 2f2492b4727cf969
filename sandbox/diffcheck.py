"""Scoped writes: a diff is checked whole against the workflow's path policy before anything is committed."""

from __future__ import annotations

from dataclasses import dataclass, field

from policies.globs import glob_match, normalize_path

ALWAYS_DENIED = (
    ".github/workflows/**",
    ".github/actions/**",  # composite actions run inside workflows
    ".github/steward.yml",
    ".git/**",
    "**/.git/**",
    "**/.gitmodules",  # submodule URLs: what a recursive clone fetches
    "**/.gitattributes",  # steers what review shows (linguist-generated, -diff), checkouts and archives
    "CODEOWNERS",  # the three places GitHub reads code owners from (docs/** is otherwise writable)
    ".github/CODEOWNERS",
    "docs/CODEOWNERS",
    # .gitignore stays writable: it changes no tracked file, and review shows all of it.
)
"""Never writable, whatever a policy or repository says (matched ignoring case); policies.model uses it."""
UNSAFE_MODES = {"120000": "symbolic link", "160000": "gitlink (a repository inside the repository)"}
"""Entries no change may add: git stores them, but what they point at is the sandbox's choice."""
MAX_LISTED = 20
"""Paths named in one list of a refusal; the rest are counted."""
MiB = 1024**2


@dataclass(frozen=True)
class FileChange:
    """One path in the diff; a rename appears as a deletion and an addition."""

    path: str
    added: int
    removed: int
    binary: bool = False
    bytes: int = 0
    """Size of the new blob (0 for a deletion); binary files count by bytes only."""
    mode: str = "100644"
    """The new git mode (000000 for a deletion)."""
    text_to_binary: bool = False
    """A text file the change makes binary: a reviewer would read only "Binary file not shown"."""


def readable(path: str) -> str:
    """A path as text: bytes that are not UTF-8 (read from git as surrogates) shown as `\\xff` escapes, since
    text holding them cannot be stored, logged as UTF-8 or sent to GitHub."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def is_text(path: str) -> bool:
    """Whether the path is UTF-8 text (git hands back any bytes; Steward reads them with surrogateescape)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def listed(paths: list[str], limit: int = MAX_LISTED) -> str:
    """The first `limit` paths, then how many more: a refusal stays readable whatever the sandbox made."""
    shown = ", ".join(readable(path) for path in paths[:limit])
    return shown if len(paths) <= limit else f"{shown} and {len(paths) - limit} more"


def size_text(count: int) -> str:
    """Bytes as a person reads them (1.5 MiB, 300 KiB, 12 bytes)."""
    for unit, scale in (("GiB", 1024**3), ("MiB", MiB), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{count} bytes"


@dataclass(frozen=True)
class PathPolicy:
    """What a workflow may change: globs it may write, globs it may never write, and size limits."""

    allowed: tuple[str, ...]
    denied: tuple[str, ...] = ()
    max_files: int = 50
    max_lines: int = 2000
    max_file_bytes: int = 1 * MiB
    max_bytes: int = 5 * MiB


REFUSED = "The change was refused as a whole; nothing was pushed."


@dataclass(frozen=True)
class DiffVerdict:
    """Whether the whole diff may be pushed, and if not, every reason."""

    denied_paths: list[str] = field(default_factory=list)
    undeclared_paths: list[str] = field(default_factory=list)
    too_many_files: bool = False
    too_many_lines: bool = False
    unsafe_paths: list[str] = field(default_factory=list)
    large_files: list[str] = field(default_factory=list)
    too_many_bytes: bool = False
    made_binary: list[str] = field(default_factory=list)
    undecodable_paths: list[str] = field(default_factory=list)
    files: int = 0
    lines: int = 0
    bytes: int = 0

    @property
    def ok(self) -> bool:
        return not (
            self.denied_paths or self.undeclared_paths or self.too_many_files or self.too_many_lines
            or self.unsafe_paths or self.large_files or self.too_many_bytes or self.made_binary
            or self.undecodable_paths
        )  # fmt: skip

    def message(self, policy: PathPolicy) -> str:
        """What a maintainer reads when the diff is refused."""
        if self.ok:
            return "The diff is within the workflow's path policy."
        parts = [REFUSED]
        if self.unsafe_paths:
            parts.append(f"It adds symbolic links or repositories, which Steward never commits: "
                         f"{listed(self.unsafe_paths)}.")  # fmt: skip
        if self.undecodable_paths:
            parts.append(f"It names files in bytes that are not UTF-8, which GitHub cannot show: "
                         f"{listed(self.undecodable_paths)}.")  # fmt: skip
        if self.made_binary:
            parts.append(f"It turns text files into binary ones, which a reviewer cannot read: "
                         f"{listed(self.made_binary)}.")  # fmt: skip
        if self.denied_paths:
            parts.append(f"It touches paths Steward may never change: {listed(self.denied_paths)}.")
        if self.undeclared_paths:
            allowed = listed(list(policy.allowed)) or "nothing"
            parts.append(
                f"It touches paths outside what this workflow declares ({allowed}): "
                f"{listed(self.undeclared_paths)}."
            )
        if self.too_many_files:
            parts.append(f"It changes {self.files} files; the limit is {policy.max_files}.")
        if self.too_many_lines:
            parts.append(f"It changes {self.lines} lines; the limit is {policy.max_lines}.")
        if self.large_files:
            parts.append(f"Files above the limit of {size_text(policy.max_file_bytes)} per file: "
                         f"{listed(self.large_files)}.")  # fmt: skip
        if self.too_many_bytes:
            parts.append(f"It writes {size_text(self.bytes)}; the limit is {size_text(policy.max_bytes)}.")
        return " ".join(parts)


def check_diff(changes: list[FileChange], policy: PathPolicy) -> DiffVerdict:
    """Every offending path is listed, so one refusal tells the whole story."""
    denied: list[str] = []
    undeclared: list[str] = []
    unsafe = [f"{c.path} ({UNSAFE_MODES[c.mode]})" for c in changes if c.mode in UNSAFE_MODES]
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
    written = sum(c.bytes for c in changes)
    return DiffVerdict(
        unsafe_paths=unsafe,
        made_binary=[c.path for c in changes if c.text_to_binary],
        undecodable_paths=[c.path for c in changes if not is_text(c.path)],
        large_files=[f"{c.path} ({size_text(c.bytes)})" for c in changes if c.bytes > policy.max_file_bytes],
        too_many_bytes=written > policy.max_bytes,
        bytes=written,
        denied_paths=denied,
        undeclared_paths=undeclared,
        too_many_files=len(changes) > policy.max_files,
        too_many_lines=lines > policy.max_lines,
        files=len(changes),
        lines=lines,
    )
