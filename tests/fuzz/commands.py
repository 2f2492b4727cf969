"""The command parser: any comment body gives at most MAX_COMMANDS safe commands, each one a line shows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hypothesis import strategies as st

from app.commands.parser import (
    MAX_ARGS_CHARS,
    MAX_COMMANDS,
    MAX_NAME_CHARS,
    ParsedCommand,
    parse_commands,
)
from app.commands.paths import MAX_PATH_CHARS, MAX_PATHS, BadPaths, parse_paths
from app.handlers.commands import might_hold_command
from tests.fuzz.core import Broken, Target, unexpected
from tests.fuzz.text import hostile, links_or_pings, one_line

SAFE_NAME = re.compile(r"[a-z0-9_.#-]+|\?")
"""What a parsed name may hold: the help reply echoes an unknown one inside a code span."""
prefixes = st.one_of(
    st.sampled_from(["/steward", "/bot", "/Steward"]),
    st.from_regex(r"/[A-Za-z][A-Za-z0-9_-]{0,31}", fullmatch=True),
)
PATHS = ("src/a.py", "./a//b", "..", "../x", "/etc/passwd", "-rf", "a\\b", ".", "tests/", "a/../b", "x" * 201)
"""Arguments of `/steward tests [paths]`, good and bad."""
names = st.from_regex(r"[a-z][a-z0-9_-]{0,50}", fullmatch=True)


@dataclass(frozen=True)
class Comment:
    body: str
    prefix: str
    alone: tuple[str, str] | None = None
    """(name, args) when the body is that one command on its own line: the parse must give back exactly it."""


def _lines(prefix: str) -> st.SearchStrategy[str]:
    args = one_line | st.lists(st.sampled_from(PATHS) | one_line, max_size=25).map(" ".join)
    command = st.tuples(st.sampled_from(["", " ", "   ", "> ", "- ", "    ", "\t"]), names, args).map(
        lambda parts: f"{parts[0]}{prefix} {parts[1]} {parts[2]}"
    )
    return st.lists(st.one_of(command, hostile), max_size=20).map("\n".join)


@st.composite
def comments(draw: st.DrawFn) -> Comment:
    prefix = draw(prefixes)
    if draw(st.booleans()):
        name, args = draw(names), draw(one_line)
        return Comment(f"{prefix} {name} {args}", prefix, (name, args))
    return Comment(draw(_lines(prefix)), prefix)


def check(comment: Comment) -> None:
    try:
        found = parse_commands(comment.body, comment.prefix)
    except Exception as exc:
        raise unexpected(exc, "parse_commands") from exc
    if len(found) > MAX_COMMANDS:
        raise Broken(f"{len(found)} commands, more than {MAX_COMMANDS}")
    lines = comment.body[:65_536].replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for command in found:
        _check_command(command, lines, comment.prefix)
    if found and not might_hold_command(comment.body):
        raise Broken("the receiver would drop a comment the worker reads commands from")
    if comment.alone is not None:
        name, args = comment.alone
        expected = [ParsedCommand(name, args.replace("\x00", "\ufffd").strip()[:MAX_ARGS_CHARS], 1)]
        if found != expected:
            raise Broken(f"{comment.body!r} gave {found}, not {expected}")


def _check_command(command: ParsedCommand, lines: list[str], prefix: str) -> None:
    """One parsed command: a safe name, bounded arguments on one line, read from a line that holds it."""
    if not SAFE_NAME.fullmatch(command.name):
        raise Broken(f"unsafe name {command.name!r}")
    if not (_known(command.name) or len(command.name) <= MAX_NAME_CHARS):
        raise Broken(f"unknown name longer than {MAX_NAME_CHARS}: {command.name!r}")
    if len(command.args) > MAX_ARGS_CHARS or "\n" in command.args or "\r" in command.args:
        raise Broken(f"args out of bounds: {command.args[:80]!r} ({len(command.args)} chars)")
    if not 1 <= command.line <= len(lines):
        raise Broken(f"line {command.line} of {len(lines)}")
    if prefix.lower() not in lines[command.line - 1].lower():
        raise Broken(f"line {command.line} does not hold the prefix: {lines[command.line - 1]!r}")
    _check_paths(command.args)


def _check_paths(args: str) -> None:
    """`/steward tests [paths]` reads its arguments as paths: checked, bounded, normalised, or a BadPaths."""
    try:
        paths = parse_paths(args)
        again = parse_paths(" ".join(paths))
    except BadPaths as exc:
        shown = links_or_pings(str(exc))
        if shown is not None:
            raise Broken(f"the refusal of {args[:80]!r} links or pings: {shown}") from exc
        return
    except Exception as exc:
        raise unexpected(exc, "parse_paths") from exc
    if len(paths) > MAX_PATHS or len(set(paths)) != len(paths) or again != paths:
        raise Broken(f"{args[:80]!r} gave {paths[:5]}, read again {again[:5]}")
    for path in paths:
        if (
            len(path) > MAX_PATH_CHARS
            or path.startswith(("/", "-"))
            or ".." in path.split("/")
            or "\\" in path
        ):
            raise Broken(f"{path[:80]!r} passed the path check")


def _known(name: str) -> bool:
    return re.fullmatch(r"[a-z][a-z0-9_-]*", name) is not None


FOUND = tuple(  # a line of only a line separator, trimmed off a paragraph's start, was not counted
    Comment(f"    /steward a \n{separator}\n/steward a ", "/steward")
    for separator in ("\u2028", "\u2029", "\x0b", "\x0c", "\x85", "\x1c")
)
TARGET = Target("command parser", comments(), check, FOUND)
