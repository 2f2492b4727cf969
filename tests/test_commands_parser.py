"""Table-driven command parsing: only what a reader sees at the start of a line is a command."""

from __future__ import annotations

import time

import pytest

from app.commands.parser import MAX_ARGS_CHARS, MAX_COMMANDS, ParsedCommand, parse_commands

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
