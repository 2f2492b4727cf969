"""A proposed diff for the dashboard: split per file with its stats, highlighted by Pygments (escaped)."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import DiffLexer

MAX_FILES = 200
"""Files shown; the rest are named only in the per-file stats."""
_FORMATTER = HtmlFormatter(nowrap=True, classprefix="d-")


@dataclass(frozen=True)
class FileDiff:
    path: str
    added: int
    removed: int
    html: Markup
    """Pygments' output: every character of the diff HTML-escaped, wrapped in class-only spans."""


def _path(header: str) -> str:
    """`diff --git a/x b/x` -> `x` (the new side; a path with spaces keeps them)."""
    rest = header.removeprefix("diff --git ")
    half = rest.find(" b/")
    return rest[half + 3 :] if half >= 0 else rest


def split(diff: str) -> list[FileDiff]:
    """One entry per file of a `git diff`, with its added and removed lines."""
    chunks: list[list[str]] = []
    for line in diff.splitlines():
        if line.startswith("diff --git ") or not chunks:
            chunks.append([])
        chunks[-1].append(line)
    files = []
    for chunk in chunks[:MAX_FILES]:
        head = chunk[0] if chunk[0].startswith("diff --git ") else ""
        body = chunk[1:] if head else chunk
        added = sum(1 for line in body if line.startswith("+") and not line.startswith("+++"))
        removed = sum(1 for line in body if line.startswith("-") and not line.startswith("---"))
        text = "\n".join(chunk) + "\n"
        # Pygments escapes &, <, >, " and ' in every token it emits (HtmlFormatter._get_escaped).
        html = Markup(highlight(text, DiffLexer(), _FORMATTER))  # noqa: S704
        files.append(FileDiff(_path(head) if head else "(diff)", added, removed, html))
    return files
