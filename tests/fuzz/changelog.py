"""The changelog writer: one entry, under Unreleased and its section, never twice, nothing else changed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hypothesis import strategies as st

from app.github.untrusted import inline
from jobs.workflows.docs.changelog import MAX_TITLE_CHARS, SECTIONS, Entry, add_entry
from tests.fuzz.core import Broken, Target, unexpected
from tests.fuzz.text import hostile, links_or_pings

LINES = (
    "# Changelog", "## [Unreleased]", "## Unreleased", "##  [unreleased] ", "## [1.0.0] - 2026-01-01",
    "## 0.1.0", "### Added", "### Fixed", "### Security", "### Other", "#### Deep", "- item (#3)",
    "- [#12](https://github.com/o/r/issues/12) x", "* star (#12, #14)", "#12: fixed", "", "  ", "```",
    "- by @alice in https://github.com/o/r/pull/12", "> quote", "- Crash (#12)",
    "- Crash ([#12](https://github.com/o/r/issues/12))",
)  # fmt: skip
"""Lines a changelog holds, Keep a Changelog's and others' (release notes, references first, code fences)."""


def _joined(lines: list[str], newline: str, final: bool) -> str:
    return newline.join(lines) + (newline if final else "")


texts = st.one_of(
    st.none(),
    st.just(""),
    st.builds(
        _joined,
        st.lists(st.one_of(st.sampled_from(LINES), hostile), max_size=25),
        st.sampled_from(["\n", "\r\n"]),
        st.booleans(),
    ),
)
urls = st.builds(
    "https://github.com/o/r/{}/{}".format, st.sampled_from(["issues", "pull"]), st.integers(1, 10**7)
)
entries = st.builds(
    Entry,
    number=st.integers(1, 10**7),
    title=hostile,
    url=st.one_of(st.just(""), urls),
    section=st.sampled_from(SECTIONS),
)  # fmt: skip
_UNRELEASED = re.compile(r"^##\s+\[?unreleased\]?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Case:
    text: str | None
    entry: Entry
    create: bool


cases = st.builds(Case, texts, entries, st.booleans())


def _is_subsequence(small: list[str], big: list[str]) -> bool:
    rest = iter(big)
    return all(any(line == other for other in rest) for line in small)


def check(case: Case) -> None:
    try:
        edit = add_entry(case.text, case.entry, create=case.create)
        again = add_entry(edit.text, case.entry, create=case.create) if edit.changed else None
    except Exception as exc:
        raise unexpected(exc, "add_entry") from exc
    line = case.entry.line
    if "\n" in line or "\r" in line or (shown := links_or_pings(inline(case.entry.title, MAX_TITLE_CHARS))):
        raise Broken(f"the entry's title is not one inert line: {line!r} {locals().get('shown')}")
    if not edit.changed:
        if edit.text != case.text:
            raise Broken("an unchanged changelog came back different")
        return
    assert edit.text is not None
    if again is not None and again.changed:
        raise Broken("the same entry was added twice")
    text = case.text or ""
    old = text.replace("\r\n", "\n").rstrip("\n").split("\n") if text.strip() else []
    new = edit.text.replace("\r\n", "\n").rstrip("\n").split("\n")
    # A lone CR before a line end reads as CRLF once the entry's LF follows it: the same line to a reader.
    if not _is_subsequence([x.rstrip("\r") for x in old], [x.rstrip("\r") for x in new]):
        raise Broken("a line of the changelog was changed or lost")
    if "\r\n" in text and text.strip() and re.search(r"(?<!\r)\n", edit.text):
        raise Broken("the changelog's CRLF line ends were not kept")
    if edit.text.count(line) != text.count(line) + 1:
        raise Broken("the entry's line is not in the changelog exactly once more")
    _check_place(new, new.index(line, _first_unreleased(new)), case.entry.section)


def _first_unreleased(lines: list[str]) -> int:
    return next(i for i, line in enumerate(lines) if _UNRELEASED.match(line))


def _check_place(lines: list[str], at: int, section: str) -> None:
    """The entry sits in the first Unreleased block, under the subsection of its section."""
    head = _first_unreleased(lines)
    if any(re.match(r"^##(?!#)", line) for line in lines[head + 1 : at]):
        raise Broken(f"the entry at line {at} is not in the Unreleased block at line {head}")
    headings = [line for line in lines[head + 1 : at] if re.match(r"^###\s+\w+\s*$", line)]
    if not headings or headings[-1].split()[1].lower() != section.lower():
        raise Broken(f"the entry is not under `### {section}` (last heading: {headings[-1:]})")


TARGET = Target("changelog writer", cases, check)
