"""Find slash-commands in a comment as GitHub shows it: text at the start of a paragraph's line, nothing else.

A CommonMark parser (markdown-it-py, with GitHub's tables) decides what is text. A command counts on a line
of a paragraph outside block quotes, where the line starts as plain text (not inside a code span, an inline
HTML comment or a link). It never counts in code (fenced, indented, inline), a block quote, an HTML block
(`<pre>`, a comment, a `<details>` written without blank lines), a heading, a table, or on a list item's
marker line. GitHub shows a comment's line breaks as breaks, so each line of a paragraph starts a line.
A line's number is where its line break stands in the source, whatever token (a code span, an image's alt
text, a link's title) swallowed line breaks before it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.common.utils import MD_TRIM_CHARS
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from app.constants import DEFAULT_COMMAND_PREFIX

MAX_COMMANDS = 10
"""Commands read from one comment; the rest are ignored (a hostile body cannot fan out into many jobs)."""
MAX_BODY_CHARS = 65_536
"""Characters of a body that are parsed: GitHub caps a comment there, so more is not a comment."""
MAX_ARGS_CHARS = 1_000
"""Characters of arguments kept per command."""
_UNSAFE = re.compile(r"[^A-Za-z0-9_.#-]")
MAX_NAME_CHARS = 40
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_NEWLINES = re.compile(r"\r\n?")
"""How markdown-it normalises line ends before it numbers lines."""
_BREAKS = ("softbreak", "hardbreak")
_TEXT = ("text", "text_special")


@dataclass(frozen=True)
class ParsedCommand:
    """One command as written: `/steward NAME ARGS` on line LINE (1-based)."""

    name: str
    args: str
    line: int


def _placed(rule: Callable[[StateInline, bool], bool]) -> Callable[[StateInline, bool], bool]:
    """An inline rule that also notes where in the source each line break it makes is: a line's number then
    comes from the source, not from adding up what each kind of token (code, HTML, an image's alt text, a
    link's text) swallowed."""

    def placed(state: StateInline, silent: bool) -> bool:
        start, before = state.pos, len(state.tokens)
        found = rule(state, silent)
        if found and not silent:
            for token in state.tokens[before:]:
                if token.type in _BREAKS and "newline" not in token.meta:
                    token.meta["newline"] = state.src.find("\n", start)
        return found

    return placed


@cache
def _markdown() -> MarkdownIt:
    """Blocks only: a paragraph's inline syntax (the slow part) is parsed if a line may hold a command."""
    md = MarkdownIt("commonmark").enable("table").disable(["inline", "text_join"])
    for rule in list(md.inline.ruler.__rules__):  # every rule, so no kind of token is left uncounted
        md.inline.ruler.at(rule.name, _placed(rule.fn), {"alt": rule.alt})
    return md


def _inline(content: str) -> list[Token]:
    md = _markdown()
    children: list[Token] = []
    md.inline.parse(content, md, {}, children)
    return children


def _line_starts(content: str, children: list[Token]) -> Iterator[tuple[int, str]]:
    """(line offset in the paragraph, its leading plain text) for each line that starts as plain text after a
    line break, outside any link or emphasis (their text is nested one level or more)."""
    ends = [i for i, char in enumerate(content) if char == "\n"]
    line: int | None = 0  # the line a text token here would start; None: no line starts here
    run: tuple[int, str] | None = None  # a line that started as plain text, and its plain text so far
    for token in [*children, Token("softbreak", "", 0, meta={"newline": len(content)})]:
        text = token.type in _TEXT and token.level == 0
        if text and run is not None:
            run = (run[0], run[1] + token.content)  # an escape ("\/") is a token of its own
        elif text and line is not None:
            run = (line, token.content)
        elif run is not None:
            yield run
            run = None
        line = None
        if token.type in _BREAKS and token.level == 0 and isinstance(token.meta.get("newline"), int):
            line = bisect_right(ends, token.meta["newline"])  # a break with no known place starts no line


def _paragraph_lines(tokens: list[Token]) -> Iterator[tuple[Token, bool]]:
    """Each paragraph's inline token outside block quotes, and whether its first line is a list marker's."""
    quotes = 0
    for i, token in enumerate(tokens):
        if token.type == "blockquote_open":
            quotes += 1
        elif token.type == "blockquote_close":
            quotes -= 1
        elif token.type == "inline" and quotes == 0 and i > 0 and tokens[i - 1].type == "paragraph_open":
            yield token, i > 1 and tokens[i - 2].type == "list_item_open"


def _command(body: str, prefix: str, number: int) -> ParsedCommand | None:
    """The command on a line that starts with the prefix as a whole word, or None."""
    if body[: len(prefix)].lower() != prefix.lower():
        return None
    rest = body[len(prefix) :]
    if rest and not rest[0].isspace():
        return None
    rest = rest.strip()
    if not rest:
        return ParsedCommand("help", "", number)
    match = _NAME.match(rest)
    if match is None or (match.end() < len(rest) and not rest[match.end()].isspace()):
        # An unknown word is echoed in the help reply: keep only characters that cannot break out of a code
        # span or mention anyone there.
        word = _UNSAFE.sub("", rest.split(None, 1)[0])[:MAX_NAME_CHARS] or "?"
        return ParsedCommand(word.lower(), "", number)
    args = rest[match.end() :].strip()[:MAX_ARGS_CHARS]
    return ParsedCommand(match.group().lower(), args, number)


def _in_paragraph(inline: Token, on_marker: bool, prefix: str, source: list[str]) -> Iterator[ParsedCommand]:
    assert inline.map is not None
    lines = inline.content.split("\n")  # the paragraph's source lines, less their block indentation
    # The parser trims the paragraph's text, which also takes lines that hold only a form feed, a vertical
    # tab or a Unicode line separator (not blank lines to CommonMark): count them back.
    first, end = inline.map
    while first < min(end, len(source)) - 1 and not source[first].strip(MD_TRIM_CHARS):
        first += 1
    on_marker = on_marker and first == inline.map[0]
    if not any(line.lstrip()[: len(prefix)].lower() == prefix.lower() for line in lines):
        return
    for offset, text in _line_starts(inline.content, _inline(inline.content)):
        if offset == 0 and on_marker:
            continue
        if text[: len(prefix)].lower() != prefix.lower() or offset >= len(lines):
            continue
        command = _command(lines[offset].strip(), prefix, first + offset + 1)
        if command is not None:
            yield command


def parse_commands(body: str, prefix: str = DEFAULT_COMMAND_PREFIX) -> list[ParsedCommand]:
    """Every command in a comment body, in order, at most MAX_COMMANDS (about 1 s for the worst 64 KiB)."""
    prefix = prefix.strip()
    if not prefix or not body:
        return []
    body = body[:MAX_BODY_CHARS]
    if prefix.lower() not in body.lower():
        return []  # most comments: no need to parse them
    found: list[ParsedCommand] = []
    source = _NEWLINES.sub("\n", body).split("\n")  # the lines the Markdown parser numbers
    for inline, on_marker in _paragraph_lines(_markdown().parse(body)):
        found.extend(_in_paragraph(inline, on_marker, prefix, source))
        if len(found) >= MAX_COMMANDS:
            break
    return found[:MAX_COMMANDS]
