"""Keep a Changelog: add one entry for an issue or pull request to `Unreleased`, never twice."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.github.untrusted import inline

SECTIONS = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")
"""Keep a Changelog's sections, in its order."""
HEADER = """# Changelog

All notable changes to this project will be documented in this file.

The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).
"""
UNRELEASED = "## [Unreleased]"
MAX_TITLE_CHARS = 200
_UNRELEASED = re.compile(r"^##\s+\[?unreleased\]?\s*$", re.IGNORECASE)
_RELEASE = re.compile(r"^##(?!#)")
_SUBSECTION = re.compile(r"^###\s+(\w+)\s*$")
_ITEM = re.compile(r"^\s*[-*+]\s+")
_TRAILING = re.compile(r"\(((?:[^()]|\([^()]*\))*)\)[\s.]*$")
"""The entry's trailing group: `([#12](url))` as Steward writes it, `(#12)`, `(#12, #14)`, `(url)`."""
_LEADING = re.compile(r"^(\[#\d+\]\([^()\s]*\)|\[?#\d+\]?)(?=[\s:.,-]|$)")
"""An entry led by its reference: `#12: ...`, `[#12] ...`, `[#12](url) ...`."""
_TRAILING_URL = re.compile(r"(?:^|\s)(https?://\S+?)[.,;]?\s*$")
"""GitHub's release notes: `... by @alice in https://github.com/o/r/pull/12`."""
_OWN_NUMBER = re.compile(r"(?<![\w/-])#(\d+)(?!\d)")
_OWN_URL = re.compile(r"https?://[^\s()\[\]<>]+")


@dataclass(frozen=True)
class Entry:
    """What one changelog line says and where it goes."""

    number: int
    title: str
    url: str
    section: str

    @property
    def line(self) -> str:
        """The title as inert text, then the entry's own reference: a link, or `(#N)` without a URL."""
        ref = f"[#{self.number}]({self.url})" if self.url.strip() else f"#{self.number}"
        return f"- {inline(self.title, MAX_TITLE_CHARS)} ({ref})"


@dataclass(frozen=True)
class ChangelogEdit:
    """The changelog after the edit (None: still absent), and what happened, in words."""

    text: str | None
    changed: bool
    note: str


def choose_section(labels: Iterable[str], mapping: Mapping[str, str], default: str = "Changed") -> str:
    """The section of the first label (in the issue's order) that the mapping knows, ignoring case."""
    lowered = {name.lower(): section for name, section in mapping.items()}
    for label in labels:
        section = lowered.get(label.lower())
        if section in SECTIONS:
            return section
    if default not in SECTIONS:
        raise ValueError(f"not a Keep a Changelog section: {default!r} (use one of {', '.join(SECTIONS)})")
    return default


def own_references(line: str) -> tuple[set[int], set[str]]:
    """The numbers and URLs a list entry names as its own: in its trailing `(...)`, or leading it."""
    entry = _ITEM.sub("", line.strip(), count=1)
    own = [m.group(1) for m in (_TRAILING.search(entry), _LEADING.match(entry)) if m is not None]
    numbers = {int(n) for part in own for n in _OWN_NUMBER.findall(part)}
    urls = {url.rstrip(".,;") for part in own for url in _OWN_URL.findall(part)}
    if (trailing_url := _TRAILING_URL.search(entry)) is not None:
        urls.add(trailing_url.group(1))
    return numbers, urls


def mentions(text: str, number: int, url: str) -> bool:
    """Whether a list entry of the changelog is already this issue's (by its own #number or URL)."""
    for line in text.splitlines():
        if not _ITEM.match(line):
            continue
        numbers, urls = own_references(line)
        if number in numbers or (url and url.rstrip("/") in {u.rstrip("/") for u in urls}):
            return True
    return False


def _splice(lines: list[str], at: int, new: list[str]) -> int:
    """Insert lines with one blank line between them and any non-blank neighbour; existing lines stay."""
    before = [] if at == 0 or not lines[at - 1].strip() else [""]
    after = [] if at >= len(lines) or not lines[at].strip() else [""]
    lines[at:at] = [*before, *new, *after]
    return at + len(before)


def _last_text(lines: list[str], start: int, stop: int) -> int:
    """Index of the last non-blank line in [start, stop), or start - 1 if all are blank."""
    return max((i for i in range(start, stop) if lines[i].strip()), default=start - 1)


def _unreleased(lines: list[str]) -> tuple[int, int]:
    """Index of the Unreleased heading and the end of its block (the heading is added when missing)."""
    head = next((i for i, line in enumerate(lines) if _UNRELEASED.match(line)), None)
    if head is None:
        first_release = next((i for i, line in enumerate(lines) if _RELEASE.match(line)), len(lines))
        head = _splice(lines, first_release, [UNRELEASED])
    end = next((j for j in range(head + 1, len(lines)) if _RELEASE.match(lines[j])), len(lines))
    return head, end


def _insert(lines: list[str], entry: Entry) -> None:
    head, end = _unreleased(lines)
    subsections = [(i, m.group(1)) for i in range(head + 1, end) if (m := _SUBSECTION.match(lines[i]))]
    for index, (i, name) in enumerate(subsections):
        if name.lower() == entry.section.lower():
            stop = subsections[index + 1][0] if index + 1 < len(subsections) else end
            last = _last_text(lines, i + 1, stop)
            if last >= i + 1:
                lines.insert(last + 1, entry.line)  # right after the section's last item
            else:
                _splice(lines, i + 1, [entry.line])
            return
    order = SECTIONS.index(entry.section)
    later = [i for i, name in subsections if name in SECTIONS and SECTIONS.index(name) > order]
    at = later[0] if later else _last_text(lines, head + 1, end) + 1
    _splice(lines, at, [f"### {entry.section}", "", entry.line])


def add_entry(text: str | None, entry: Entry, *, create: bool = False) -> ChangelogEdit:
    """The changelog with the entry under Unreleased/<section>; unchanged if it is already there."""
    if entry.section not in SECTIONS:
        raise ValueError(f"not a Keep a Changelog section: {entry.section!r}")
    if text is None or not text.strip():
        if text is None and not create:
            return ChangelogEdit(
                None, False, "there is no changelog, and the configuration does not create one"
            )
        text = HEADER
    elif mentions(text, entry.number, entry.url):
        return ChangelogEdit(text, False, f"the changelog already has an entry for #{entry.number}")
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n") if text.strip() else []
    _insert(lines, entry)
    body = newline.join(lines) + newline
    return ChangelogEdit(body, True, f"added #{entry.number} under Unreleased → {entry.section}")
