"""Path globs with `**`, and a conservative test of whether one glob lies inside another.

Semantics (those of .gitignore-style path globs, anchored at the repository root):
- `*` matches any run of characters except `/`; `?` one character except `/`;
- a segment that is exactly `**` matches zero or more whole segments;
- `[...]` is not special (paths with brackets are matched literally), so a glob is never a regular expression.
A pattern without `/` is anchored at the root too: `*.md` matches `README.md`, not `docs/a.md`
(write `**/*.md` for any depth).
"""

from __future__ import annotations

import re
from functools import lru_cache
from posixpath import normpath

_STAR_RUN = re.compile(r"\*{2,}")


def normalize_path(path: str) -> str | None:
    """A repository-relative POSIX path, or None if it escapes the root or is empty."""
    if not path or "\x00" in path or path.startswith("/") or "\\" in path:
        return None
    clean = normpath(path)
    if clean in (".", "") or clean == ".." or clean.startswith("../"):
        return None
    return clean


def _segments(glob: str) -> list[str]:
    parts = [part for part in glob.strip().strip("/").split("/") if part not in ("", ".")]
    # `a**b` inside a segment means the same as `a*b`.
    return [part if part == "**" else _STAR_RUN.sub("*", part) for part in parts]


@lru_cache(maxsize=512)
def _compile(glob: str, ignore_case: bool) -> re.Pattern[str]:
    out: list[str] = []
    segments = _segments(glob)
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
            continue
        for char in segment:
            out.append("[^/]*" if char == "*" else "[^/]" if char == "?" else re.escape(char))
        if not last:
            out.append("/")
    return re.compile("".join(out) + r"\Z", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(glob: str, path: str, *, ignore_case: bool = False) -> bool:
    """Whether a normalized repository path matches the glob."""
    return _compile(glob, ignore_case).match(path) is not None


def any_match(globs: list[str], path: str, *, ignore_case: bool = False) -> bool:
    return any(glob_match(glob, path, ignore_case=ignore_case) for glob in globs)


def _segment_within(inner: str, outer: str) -> bool:
    """Every name the inner segment matches, the outer one matches too (wildcards treated as text)."""
    tokens = ["*" if c == "*" else "?" if c == "?" else re.escape(c) for c in outer]
    # Outer `*` may consume anything the inner one could produce except `/`; outer `?` one literal or `?`.
    pattern = "".join("[^/]*" if t == "*" else "[^*/]" if t == "?" else t for t in tokens)
    return re.fullmatch(pattern, inner, re.DOTALL) is not None


def glob_within(inner: str, outer: str) -> bool:
    """Conservatively true only when every path matching `inner` also matches `outer`."""
    a, b = _segments(inner), _segments(outer)
    memo: dict[tuple[int, int], bool] = {}

    def walk(i: int, j: int) -> bool:
        if (i, j) in memo:
            return memo[(i, j)]
        if j == len(b):
            result = i == len(a)
        elif b[j] == "**" and j == len(b) - 1:
            # A trailing `**` matches one or more segments, whatever they are.
            result = i < len(a)
        elif b[j] == "**":
            # A middle `**` swallows zero or more inner segments.
            result = walk(i, j + 1) or (i < len(a) and walk(i + 1, j))
        elif i == len(a) or a[i] == "**":
            result = False
        else:
            result = _segment_within(a[i], b[j]) and walk(i + 1, j + 1)
        memo[(i, j)] = result
        return result

    return walk(0, 0)


def glob_within_any(inner: str, outers: list[str]) -> bool:
    return any(glob_within(inner, outer) for outer in outers)
