"""Find slash-commands in a comment as GitHub shows it: text at the start of a paragraph's line, nothing else.

A CommonMark parser (markdown-it-py, with GitHub's tables) decides what is text. A command counts on a line
of a paragraph outside block quotes, where the line starts as plain text (not inside a code span, an inline
HTML comment or a link). It never counts in code (fenced, indented, inline), a block quote, an HTML block
(`<pre>`, a comment, a `<details>` written without blank lines), a heading, a table, or on a list item's
marker line. GitHub shows a comment's line breaks as breaks, so each line of a paragraph starts a line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline, backtick
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
_BREAKS = ("softbreak", "hardbreak")
_TEXT = ("text", "text_special")


@dataclass(frozen=True)
class ParsedCommand:
    """One command as written: `/steward NAME ARGS` on line LINE (1-based)."""

    name: str
    args: str
    line: int


def _counted_backticks(state: StateInline, silent: bool) -> bool:
    """markdown-it's code span rule, also noting the line ends a code span swallows (shown as spaces)."""
    start = state.pos
    found = backtick(state, silent)
    if found and not silent and state.tokens and state.tokens[-1].type == "code_inline":
        state.tokens[-1].meta["newlines"] = state.src.count("\n", start, state.pos)
    return found


@cache
def _markdown() -> MarkdownIt:
    """Blocks only: a paragraph's inline syntax (the slow part) is parsed if a line may hold a command."""
    md = MarkdownIt("commonmark").enable("table").disable(["inline", "text_join"])
    md.inline.ruler.at("backticks", _counted_backticks)
    return md


def _inline(content: str) -> list[Token]:
    md = _markdown()
    children: list[Token] = []
    md.inline.parse(content, md, {}, children)
    return children


def _newlines(token: Token) -> int:
    """Source line ends inside one inline token."""
    if token.type in _BREAKS:
        return 1
    if token.type == "code_inline":
        return int(token.meta.get("newlines", 0))
    if token.type == "html_inline":
        return token.content.count("\n")
    return 0


def _line_starts(children: list[Token]) -> Iterator[tuple[int, str]]:
    """(line offset in the paragraph, its leading plain text) for each line that starts as plain text, outside
    any link or emphasis (their text is nested one level or more)."""
    line, start, text = 0, True, None  # text: the plain text so far of a line that started as plain text
    for token in [*children, Token("softbreak", "", 0)]:
        if token.type in _TEXT and token.level == 0 and (start or text is not None):
            text = (text or "") + token.content  # an escape ("\/") is a token of its own
        elif text is not None:
            yield line, text
            text = None
        start = token.type in _BREAKS
        line += _newlines(token)


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


def _in_paragraph(inline: Token, on_marker: bool, prefix: str) -> Iterator[ParsedCommand]:
    assert inline.map is not None
    lines = inline.content.split("\n")  # the paragraph's source lines, less their block indentation
    if not any(line.lstrip()[: len(prefix)].lower() == prefix.lower() for line in lines):
        return
    for offset, text in _line_starts(_inline(inline.content)):
        if offset == 0 and on_marker:
            continue
        if text[: len(prefix)].lower() != prefix.lower() or offset >= len(lines):
            continue
        command = _command(lines[offset].strip(), prefix, inline.map[0] + offset + 1)
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
    for inline, on_marker in _paragraph_lines(_markdown().parse(body)):
        found.extend(_in_paragraph(inline, on_marker, prefix))
        if len(found) >= MAX_COMMANDS:
            break
    return found[:MAX_COMMANDS]
