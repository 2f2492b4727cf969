"""Lines of a configuration as git and a reviewer count them (line feeds only): a break only YAML sees (a lone
CR, NEL, LS, PS) would hide a setting on a line nobody reads, so such a file is refused, naming the line."""

from __future__ import annotations

import pytest

from app.config.loader import parse_config
from app.config.model import RepoConfig

HIDDEN = {
    "\r": "carriage return (U+000D) without a line feed",
    "\x85": "next-line character (U+0085)",
    "\u2028": "line separator (U+2028)",
    "\u2029": "paragraph separator (U+2029)",
}


@pytest.mark.parametrize("breaker", list(HIDDEN))
def test_a_setting_after_a_break_only_yaml_sees_is_refused_naming_gits_line(breaker: str) -> None:
    """On GitHub line 3 reads as a comment; YAML read `ignore_bots: false` from it as a line of its own."""
    text = f"prefix: /steward\n\n# a note{breaker}ignore_bots: false\nnoise:\n  max_open_prs: 3\n"
    result = parse_config(text)
    assert [(e.field, e.line) for e in result.errors] == [("(file)", 3)]
    assert f"line 3 holds a {HIDDEN[breaker]}" in result.errors[0].message
    assert result.config == RepoConfig()  # nothing from the file is used, not even the visible settings


def test_the_refusal_counts_every_such_character() -> None:
    result = parse_config("a: 1\rb: 2\u2028c: 3\x85\n")
    assert "line 1 holds a carriage return" in result.errors[0].message
    assert "(2 more such characters in the file)" in result.errors[0].message


@pytest.mark.parametrize("text", ["prefix: /s\r\nignore_bots: false\r\n", "prefix: /s\nignore_bots: false\n"])
def test_windows_and_unix_line_ends_are_read_as_before(text: str) -> None:
    result = parse_config(text)
    assert result.errors == [] and result.config.prefix == "/s" and result.config.ignore_bots is False


def test_an_escaped_line_separator_in_a_quoted_value_is_text_not_a_break() -> None:
    result = parse_config('prefix: "/s\\u2028x"\n')
    assert all("U+2028" not in e.message for e in result.errors)


def test_error_lines_after_crlf_lines_follow_gits_count() -> None:
    result = parse_config("prefix: /s\r\n\r\nunknown: 1\r\n")
    assert [(e.field, e.line) for e in result.errors] == [("unknown", 3)]


def test_a_control_character_is_named_with_its_line() -> None:
    """PyYAML gives a character's place in the text, not its line: the error had no line at all."""
    result = parse_config("prefix: /s\r\n\nnoise:\n  max_open_prs: 3\x01\n")
    assert [(e.field, e.line) for e in result.errors] == [("(file)", 4)]
    assert "line 4 holds the control character U+0001" in result.errors[0].message
