"""The diff check: what git reports of a run's diff reads back whole, and the verdict lists every reason."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from app.github.untrusted import message
from jobs.runs.finish import QUOTED_CHARS
from policies.globs import glob_match, normalize_path
from sandbox.diffcheck import ALWAYS_DENIED, MAX_LISTED, REFUSED, FileChange, PathPolicy, check_diff
from sandbox.gitmeasure import parse_numstat, parse_raw
from tests.fuzz.core import Broken, Target, unexpected
from tests.fuzz.text import hostile, links_or_pings

SEGMENTS = (
    "docs", "src", "tests", ".github", "workflows", "Workflows", ".git", "..", ".", "", "CODEOWNERS",
    ".gitattributes", ".gitmodules", "README.md", "a.md", "CHANGELOG.md", "steward.yml", "x\ny", "a\tb",
)  # fmt: skip
paths = st.one_of(
    st.lists(st.one_of(st.sampled_from(SEGMENTS), hostile), min_size=1, max_size=5).map("/".join),
    st.binary(min_size=1, max_size=40).map(lambda b: b.replace(b"\0", b"").decode(errors="surrogateescape")),
).map(lambda path: path.replace("\0", "") or "x")
"""Any path git can hold (no NUL), hostile text and undecodable bytes included."""
MODES = ("100644", "100755", "120000", "160000", "000000")
changes = st.builds(
    FileChange,
    path=paths,
    added=st.integers(0, 10**6),
    removed=st.integers(0, 10**6),
    binary=st.booleans(),
    bytes=st.integers(0, 64 * 1024**2),
    mode=st.sampled_from(MODES),
    text_to_binary=st.booleans(),
)
globs = st.lists(
    st.one_of(st.sampled_from(["docs/**", "*.md", "**/*.md", "tests/**", "**", "src/*.py"]), hostile),
    max_size=4,
)
policies = st.builds(
    PathPolicy,
    allowed=globs.map(tuple),
    denied=globs.map(tuple),
    max_files=st.integers(1, 60),
    max_lines=st.integers(1, 10**6),
    max_file_bytes=st.integers(1, 8 * 1024**2),
    max_bytes=st.integers(1, 64 * 1024**2),
)


@dataclass(frozen=True)
class Case:
    changes: list[FileChange]
    policy: PathPolicy


cases = st.builds(Case, st.lists(changes, max_size=40, unique_by=lambda c: c.path), policies)
"""One change per path, as `git diff --no-renames` reports them."""


def _raw(change: FileChange) -> bytes:
    """What `git diff --raw -z` prints for the change, as gitmeasure reads it."""
    head = f":100644 {change.mode} {'1' * 40} {'2' * 40} M".encode()
    return head + b"\0" + change.path.encode(errors="surrogateescape") + b"\0"


def _numstat(change: FileChange) -> bytes:
    return (
        f"{change.added}\t{change.removed}\t".encode() + change.path.encode(errors="surrogateescape") + b"\0"
    )


def check(case: Case) -> None:
    try:
        raw = parse_raw(b"".join(_raw(c) for c in case.changes))
        numstat = parse_numstat(b"".join(_numstat(c) for c in case.changes))
        verdict = check_diff(case.changes, case.policy)
        said = verdict.message(case.policy)
    except Exception as exc:
        raise unexpected(exc, "the diff check") from exc
    if [(r.path, r.new_mode) for r in raw] != [(c.path, c.mode) for c in case.changes]:
        raise Broken("git's --raw records of the diff read back different paths or modes")
    if any(numstat[c.path] != (c.added, c.removed) for c in case.changes if c.path in numstat) or (
        set(numstat) != {c.path for c in case.changes}
    ):
        raise Broken("git's --numstat records read back different paths or counts")
    _check_verdict(case, verdict, said)


def _utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_verdict(case: Case, verdict: object, said: str) -> None:
    from sandbox.diffcheck import DiffVerdict

    assert isinstance(verdict, DiffVerdict)
    policy = case.policy
    for change in case.changes:
        path = normalize_path(change.path)
        never = path is None or any(
            glob_match(g, path, ignore_case=True) for g in (*ALWAYS_DENIED, *policy.denied)
        )
        allowed = path is not None and any(glob_match(g, path) for g in policy.allowed)
        if (never or not allowed or not _utf8(change.path)) and verdict.ok:
            raise Broken(f"{change.path!r} is not writable, yet the diff passed")
    expected_bad = (
        len(case.changes) > policy.max_files
        or sum(c.added + c.removed for c in case.changes) > policy.max_lines
        or sum(c.bytes for c in case.changes) > policy.max_bytes
        or any(
            c.bytes > policy.max_file_bytes or c.text_to_binary or c.mode in ("120000", "160000")
            for c in case.changes
        )
    )
    if expected_bad and verdict.ok:
        raise Broken("a diff over a limit (or adding a link) passed")
    if verdict.ok != said.startswith("The diff is within") or (
        not verdict.ok and not said.startswith(REFUSED)
    ):
        raise Broken(f"the verdict ({verdict.ok}) and its message disagree: {said[:200]!r}")
    try:
        said.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Broken(f"the refusal cannot be stored or posted (not UTF-8): {exc}") from exc
    if not verdict.ok and any(not _utf8(c.path) for c in case.changes) and not verdict.undecodable_paths:
        raise Broken("a path that is not UTF-8 was not refused")
    shown = links_or_pings(message(said, QUOTED_CHARS))  # as the run's failure comment quotes it
    if shown is not None:
        raise Broken(f"the refusal, as the run's comment quotes it, links or pings: {shown}")
    for listed in (verdict.denied_paths, verdict.undeclared_paths, verdict.unsafe_paths, verdict.large_files):
        if len(listed) > MAX_LISTED and f"and {len(listed) - MAX_LISTED} more" not in said:
            raise Broken(f"a list of {len(listed)} paths is not cut at {MAX_LISTED}")


FOUND = (
    Case(
        [FileChange(b"docs/\xff.md".decode(errors="surrogateescape"), 1, 0)], PathPolicy(allowed=("docs/**",))
    ),
    Case([FileChange("docs/x+y@..z.md", 1, 0)], PathPolicy(allowed=("a@.b",))),  # linked as an address
)
"""Paths not UTF-8 could not be stored nor sent (UnicodeEncodeError); `a@.b` in a refusal was linked."""
TARGET = Target("diff check", cases, check, FOUND)
