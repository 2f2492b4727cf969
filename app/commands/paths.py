"""The paths a command names (`/steward tests src/a.py`): repository-relative, bounded, checked first."""

from __future__ import annotations

import posixpath
import unicodedata

from app.github.untrusted import code_span

MAX_PATHS = 20
"""Paths one command may name."""
MAX_PATH_CHARS = 200
"""Characters of one path."""
SHOWN_CHARS = 60
"""Characters of a bad path repeated in the reply."""


class BadPaths(ValueError):
    """A path that names nothing in the repository, or too many of them; the message says which and why."""


def _problem(path: str) -> str | None:
    """Why a path is refused, or None when it is a plain repository-relative path."""
    if len(path) > MAX_PATH_CHARS:
        return f"is longer than {MAX_PATH_CHARS} characters"
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in path):
        return "holds a control character"
    if path.startswith("/"):
        return "is absolute; name it from the repository's root"
    if "\\" in path:
        return "holds a backslash; separate folders with `/`"
    if path.startswith("-"):
        return "starts with `-`"
    if ".." in path.split("/"):
        return "climbs out with `..`"
    return None


def parse_paths(args: str) -> list[str]:
    """The paths, normalised (`./a//b` is `a/b`) and without repeats; BadPaths names the first bad one."""
    words = args.split()
    if len(words) > MAX_PATHS:
        raise BadPaths(f"that is {len(words)} paths; one command may name at most {MAX_PATHS}.")
    paths: list[str] = []
    for word in words:
        problem = _problem(word)
        if problem is not None:
            raise BadPaths(f"the path {code_span(word, SHOWN_CHARS)} {problem}.")
        clean = posixpath.normpath(word)
        if clean == ".":
            raise BadPaths(f"the path {code_span(word, SHOWN_CHARS)} names no file or folder.")
        if clean not in paths:
            paths.append(clean)
    return paths
