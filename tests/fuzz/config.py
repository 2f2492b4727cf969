"""The config loader: any text gives a RepoConfig plus errors that name a field and a line, never a crash."""

from __future__ import annotations

import time

from app.config.loader import HIDDEN_BREAKS, parse_config, render_config_errors
from app.config.model import RepoConfig
from app.config.result import ConfigResult
from app.constants import MARKER_CONFIG_ERROR
from app.github.comments import MAX_BODY_UNITS, bounded_body
from tests.fuzz.core import Broken, Target, unexpected
from tests.fuzz.text import links_or_pings
from tests.fuzz.yamlgen import files

MAX_SECONDS = 30.0
"""One file parsed, however hostile: a real one takes about a millisecond, the worst 64 KiB measured here
(19,000 globs outside the policy, each checked and reported) up to 7 s on a loaded machine; far longer is a
hang. Loose on purpose: the bench prints the slowest case, and a test must not fail on a busy machine."""


def check(text: str) -> None:
    started = time.perf_counter()
    try:
        result = parse_config(text, source_sha="0123456789abcdef")
    except Exception as exc:
        raise unexpected(exc, "parse_config") from exc
    took = time.perf_counter() - started
    if took > MAX_SECONDS:
        raise Broken(f"parse_config took {took:.1f} s on {len(text)} characters: {text[:120]!r}")
    if not isinstance(result.config, RepoConfig):
        raise Broken(f"config is a {type(result.config).__name__}")
    lines = text.count("\n") + 1  # git's count: a line a reviewer sees (YAML's own breaks are refused)
    if HIDDEN_BREAKS.search(text) and (not result.errors or result.config != RepoConfig()):
        raise Broken(f"a file with a line break only YAML sees was used: {text[:200]!r}")
    for issue in result.errors:
        if not issue.field or not issue.message.strip():
            raise Broken(f"an error without a field or a message: {issue}")
        if issue.line is not None and not 1 <= issue.line <= lines:
            raise Broken(f"error at line {issue.line} of a {lines}-line file: {issue}")
    try:
        again = ConfigResult.from_json(result.to_json())
        comment = render_config_errors(result) if result.errors else ""
    except Exception as exc:
        raise unexpected(exc, "the config result's cache form or its error comment") from exc
    if again != result:
        raise Broken("the cached form of the result reads back different")
    if comment:
        _check_comment(comment)


def _check_comment(comment: str) -> None:
    posted = bounded_body(comment)
    if len(posted.encode("utf-16-le")) // 2 > MAX_BODY_UNITS or MARKER_CONFIG_ERROR not in posted:
        raise Broken("the error comment is too long for GitHub, or lost its marker")
    shown = links_or_pings(comment.replace(MARKER_CONFIG_ERROR, ""))
    if shown is not None:
        raise Broken(f"the error comment links or pings: {shown}")


FOUND = (
    "prefix: /a # note\u2028ignore_bots: false\n",  # a setting YAML read from what git shows as a comment
    "a: 1\rb: 2\x85c: 3\u2029",
    "noise:\r\n  max_open_prs: 3\x01\n",  # a control character: an error without a line
    "commands: {'x|@alice': 1}\nworkflows: {docs: {paths: ['<img src=x>|a']}}\n",  # a pipe cut code open
    "".join(f"k{i}: 1\n" for i in range(3_000)),  # errors located by a scan each (quadratic)
)
"""Files that found something once (tests/test_fuzz.py and tests/test_config_lines.py say what)."""
TARGET = Target("config loader", files, check, FOUND)
