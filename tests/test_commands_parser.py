"""Table-driven command parsing: only what a reader sees at the start of a line is a command."""

from __future__ import annotations

import re
import time

import cmarkgfm
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.commands.parser import MAX_ARGS_CHARS, MAX_BODY_CHARS, MAX_COMMANDS, ParsedCommand, parse_commands

C = ParsedCommand

CASES: list[tuple[str, str, list[ParsedCommand]]] = [
    ("plain", "/steward help", [C("help", "", 1)]),
    ("args kept", "/steward docs  mention the --json flag ", [C("docs", "mention the --json flag", 1)]),
    ("name lowercased", "/steward DOCS", [C("docs", "", 1)]),
    ("bare prefix means help", "/steward", [C("help", "", 1)]),
    ("leading spaces", "   /steward status", [C("status", "", 1)]),
    ("four spaces is indented code", "    /steward status", []),
    ("tab is indented code", "\t/steward status", []),
    ("mid-line is not a command", "please run /steward help", []),
    ("prefix must be a whole word", "/stewardship matters\n/steward-docs\n/steward:help", []),
    ("unknown command is still parsed", "/steward frobnicate now", [C("frobnicate", "now", 1)]),
    ("two commands", "/steward docs\nthanks!\n/steward status", [C("docs", "", 1), C("status", "", 3)]),
    (
        "crlf",
        "hi\r\n/steward tests src/a.py\r\n/steward help\r\n",
        [C("tests", "src/a.py", 2), C("help", "", 3)],
    ),
    ("lone cr", "hi\r/steward help", [C("help", "", 2)]),
    ("unicode line separator is not a line end", "hi\u2028/steward help", []),
    ("block quote", "> /steward docs\n>/steward docs", []),
    ("quote then blank then command", "> earlier\n\n/steward help", [C("help", "", 3)]),
    ("lazy continuation stays quoted", "> earlier\n/steward help", []),
    ("indented quote", "  > /steward docs", []),
    ("backtick fence", "```\n/steward docs\n```\n/steward help", [C("help", "", 4)]),
    ("tilde fence", "~~~\n/steward docs\n~~~", []),
    ("long fence needs a long close", "````\n```\n/steward docs\n````\n/steward help", [C("help", "", 5)]),
    ("fence with info string", "```yaml\n/steward docs\n```", []),
    ("tilde close does not end backtick fence", "```\n~~~\n/steward docs\n```", []),
    ("unclosed fence runs to the end", "```\n/steward docs\n\n/steward help", []),
    ("indented fence", "   ```\n/steward docs\n   ```\n/steward help", [C("help", "", 4)]),
    ("inline code", "`/steward docs`", []),
    ("code span across lines", "see `code\n/steward docs\nend` here", []),
    ("double-backtick span", "see ``a ` b\n/steward docs\n`` x", []),
    ("unclosed backtick is literal", "don't ` worry\n/steward help", [C("help", "", 2)]),
    ("closed span then command", "use `x` here\n/steward help", [C("help", "", 2)]),
    ("html comment one line", "<!-- /steward docs -->\n/steward help", [C("help", "", 2)]),
    ("html comment multi-line", "<!--\n/steward docs\n-->\n/steward help", [C("help", "", 4)]),
    ("comment opened mid-line", "text <!-- hidden\n/steward docs\n-->", []),
    ("comment across a blank line", "<!--\n\n/steward docs\n\n-->", []),
    ("comment markers in code are literal", "`<!--`\n/steward help", [C("help", "", 2)]),
    ("backticks in a comment are literal", "<!-- ` -->\n/steward help", [C("help", "", 2)]),
    (
        "command after quote, fence and comment",
        "> q\n\n```\nx\n```\n<!-- c -->\n/steward status",
        [C("status", "", 7)],
    ),
    ("empty", "", []),
    ("list item fence", "- item\n\n  ```\n  /steward docs\n  ```\n\n/steward help", [C("help", "", 7)]),
    ("fence on a list marker", "- ```\n  /steward docs\n  ```", []),
    ("ordered-list fence", "1. ```\n   /steward docs\n   ```\n2. step", []),
    ("ordered-list fence, indented", "1. step\n\n    ```\n    /steward docs\n    ```", []),
    ("pre block", "<pre>\n/steward docs\n</pre>\n\n/steward help", [C("help", "", 5)]),
    ("details without blank lines is raw html", "<details>\n/steward docs\n</details>", []),
    (
        "details with blank lines holds text",
        "<details>\n\n/steward docs\n\n</details>",
        [C("docs", "", 3)],
    ),
    ("indented code after a paragraph", "text\n\n    /steward docs", []),
    ("indented code in a list", "- item\n\n      /steward docs", []),
    ("nested quote in a list", "- item\n  > /steward docs", []),
    ("quote in a quote", "> > /steward docs\n>\n> /steward help", []),
    ("list marker line is not a line start", "- /steward docs\n1. /steward help", []),
    ("list item continuation line counts", "- item\n  /steward docs", [C("docs", "", 2)]),
    ("soft line break in a paragraph", "thanks, now:\n/steward docs", [C("docs", "", 2)]),
    ("hard line break", "thanks  \n/steward docs\\\n/steward help", [C("docs", "", 2), C("help", "", 3)]),
    ("heading", "# /steward docs\n/steward x\n---", []),
    ("table cell", "| a |\n| - |\n| /steward docs |", []),
    ("link text", "[/steward docs](https://example.com)", []),
    ("emphasis", "*/steward docs*", []),
    ("link text across lines", "[see\n/steward docs](https://example.com)", []),
    ("emphasis across lines", "*see\n/steward docs*", []),
    ("an escaped slash opts out", "\\/steward help", []),
    ("code span in the arguments", "/steward docs mention `--json`", [C("docs", "mention `--json`", 1)]),
    ("line numbers after a code span across lines", "a `b\nc` d\n/steward help", [C("help", "", 3)]),
    # A line's number comes from the source, whatever token a line break was swallowed by before it.
    ("image alt across lines", "![a\nb](u) `x\ny\n/steward approve`\n/steward status", [C("status", "", 5)]),
    ("link text across lines", "[a\nb](u) `x\n/steward approve`\n/steward status", [C("status", "", 4)]),
    ("image in a link", "[![a\nb](u)\nc](v) `x\n/steward approve`\n/steward status", [C("status", "", 5)]),
    ("code in an image's alt", "![`a\nb`](u) `x\n/steward approve`\n/steward status", [C("status", "", 4)]),
    ("hard break in alt text", "![a\\\nb](u) `x\n/steward approve`\n/steward status", [C("status", "", 4)]),
    ("link title across lines", '[a](u "t\nt") `x\n/steward approve`\n/steward status', [C("status", "", 4)]),
    ("emphasis across lines", "*a\nb* `x\n/steward approve`\n/steward status", [C("status", "", 4)]),
    ("html in a link", "[<b\nc>](u) `x\n/steward approve`\n/steward status", [C("status", "", 4)]),
    ("after an image across lines", "![a\nb](u)\n/steward help", [C("help", "", 3)]),
    (
        "odd names are sanitised",
        "/steward `@org/admins` x\n/steward <b>",
        [C("orgadmins", "", 1), C("b", "", 2)],
    ),
]


@pytest.mark.parametrize(("body", "expected"), [(b, e) for _, b, e in CASES], ids=[c[0] for c in CASES])
def test_parse(body: str, expected: list[ParsedCommand]) -> None:
    assert parse_commands(body) == expected


@pytest.mark.parametrize(
    ("body", "prefix", "expected"),
    [
        ("/bot docs\n/steward help", "/bot", [C("docs", "", 1)]),
        ("/BOT docs", "/bot", [C("docs", "", 1)]),
        ("/bots docs", "/bot", []),
        ("/steward help", "/steward", [C("help", "", 1)]),
    ],
)
def test_configurable_prefix(body: str, prefix: str, expected: list[ParsedCommand]) -> None:
    assert parse_commands(body, prefix=prefix) == expected


def test_commands_per_comment_are_capped() -> None:
    body = "\n".join(f"/steward status {i}" for i in range(MAX_COMMANDS * 5))
    found = parse_commands(body)
    assert [c.args for c in found] == [str(i) for i in range(MAX_COMMANDS)]


def test_arguments_are_capped() -> None:
    (found,) = parse_commands("/steward docs " + "x" * (MAX_ARGS_CHARS * 3))
    assert len(found.args) == MAX_ARGS_CHARS


@pytest.mark.parametrize(
    "body",
    [
        "`a" * 200_000,  # thousands of unclosed code spans
        "<!-- -->" * 50_000,  # thousands of comments on one line
        "x\n" * 200_000,  # hundreds of thousands of lines
        "> /steward help\n" * 50_000,
        "```\n" + "/steward help\n" * 50_000,
        "`" * 100_000 + "\n/steward help\n" * 1000,
    ],
    ids=["ticks", "comments", "lines", "quotes", "fenced", "long-run"],
)
def test_hostile_bodies_are_parsed_quickly(body: str) -> None:
    started = time.perf_counter()
    found = parse_commands(body)
    assert time.perf_counter() - started < 2.0
    assert len(found) <= MAX_COMMANDS


@pytest.mark.parametrize(
    "pattern",
    ["[", "[a](", "*_", "<", "`a", "&amp;", "- ", ">", "| x |\n", "hello world\n/steward help\n"],
    ids=["brackets", "links", "emphasis", "angles", "ticks", "entities", "lists", "quotes", "table", "text"],
)
@pytest.mark.parametrize("separator", ["\n\n", "\n"], ids=["own-paragraph", "same-paragraph"])
def test_a_megabyte_comment_is_parsed_in_bounded_time(pattern: str, separator: str) -> None:
    """CommonMark's slowest inputs after a command line (so the parser runs), in the command's paragraph or
    another: the body is cut at GitHub's cap first (measured: at most 1.5 s, brackets in one paragraph)."""
    body = "/steward help" + separator + pattern * (2**20 // len(pattern))
    started = time.perf_counter()
    found = parse_commands(body)
    assert time.perf_counter() - started < 10.0  # linear; a blow-up on the uncut megabyte would take minutes
    assert found[0] == C("help", "", 1)
    assert len(found) <= MAX_COMMANDS


def test_only_the_first_65536_characters_are_read() -> None:
    assert parse_commands("x" * (MAX_BODY_CHARS - 20) + "\n\n/steward help") == [C("help", "", 3)]
    assert parse_commands("x" * MAX_BODY_CHARS + "\n\n/steward help") == []


FRAGMENTS = ["![a\nb](u)", "[a\nb](u)", '[a](u "t\nt")', "*a\nb*", "<b\nc>", "`a\nb`", "<!--\n-->", "\\\n"]
FRAGMENTS += ["[![a\nb](u)](v)", "/steward go ", "\n/steward go ", "\n", "  \n", "`"]
"""Pieces of Markdown, many of them holding a line break inside one inline token."""


def _numbered(body: str) -> str:
    """Each command written as its own name (`c0`, `c1`...), so a rendered one can be told from the others."""
    count = iter(range(10_000))
    return re.sub("/steward go ", lambda _: f"/steward c{next(count)} ", body)


@settings(max_examples=500, deadline=None)
@example("![a\nb](u) `x\ny\n/steward c0 `\n/steward c1 ")  # the review's case
@example('[a](u "t\nt") `x\n/steward c0 `\n/steward c1 ')
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=20).map("".join).map(_numbered))
def test_a_command_is_read_only_where_a_line_shows_it(body: str) -> None:
    """cmark-gfm (GitHub's renderer, with a comment's line breaks) shows each command read at a line's start
    as text, and the source line it is read from holds it."""
    html = cmarkgfm.markdown_to_html(
        body, options=cmarkgfm.Options.CMARK_OPT_HARDBREAKS | cmarkgfm.Options.CMARK_OPT_UNSAFE
    )
    lines = body.split("\n")
    for command in parse_commands(body):
        assert lines[command.line - 1].lstrip().startswith(f"/steward {command.name}")
        assert re.search(rf"(<p>|<br />\n)/steward {command.name}\b", html), (command, html)
