"""Find slash-commands in a comment as a reader sees them: at the start of a line, outside quotes and code."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.constants import DEFAULT_COMMAND_PREFIX

MAX_COMMANDS = 10
"""Commands read from one comment; the rest are ignored (a hostile body cannot fan out into many jobs)."""
MAX_BODY_CHARS = 262_144
"""Characters of a body that are scanned (GitHub caps comments at 65,536)."""
MAX_ARGS_CHARS = 1_000
"""Characters of arguments kept per command."""
_TAB_WIDTH = 4
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_TICKS = re.compile(r"`+")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.#-]")
MAX_NAME_CHARS = 40
_LINE_END = re.compile(r"\r\n|\r|\n")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class ParsedCommand:
    """One command as written: `/steward NAME ARGS` on line LINE (1-based)."""

    name: str
    args: str
    line: int


@dataclass
class _Scanner:
    """Line-by-line Markdown state: only what decides whether a line is really at the start of a line."""

    prefix: str
    fence: tuple[str, int] | None = None
    in_comment: bool = False
    in_quote: bool = False
    open_ticks: int = 0
    pending: list[ParsedCommand] = field(default_factory=list)
    found: list[ParsedCommand] = field(default_factory=list)

    def feed(self, number: int, line: str) -> None:
        if self.fence is not None:
            self._close_fence(line)
            return
        if not line.strip():
            self._end_paragraph()
            self.in_quote = False
            return
        starts_in_code = self.in_comment or self.open_ticks > 0
        lead = _indent_width(line)
        body = line.lstrip(" \t")
        fence = _FENCE.match(line) if lead < _TAB_WIDTH and not self.in_comment else None
        if fence is not None and (fence.group(1)[0] == "~" or "`" not in fence.group(2)):
            self._end_paragraph()
            self.in_quote = False
            self.fence = (fence.group(1)[0], len(fence.group(1)))
            return
        if lead < _TAB_WIDTH and body.startswith(">") and not self.in_comment:
            if not self.in_quote:
                self._end_paragraph()
            self.in_quote = True
            self._scan_inline(line)
            return
        if lead < _TAB_WIDTH and not starts_in_code and not self.in_quote:
            command = _command(body, self.prefix, number)
            if command is not None:
                self.found.append(command)
        elif self.open_ticks and not self.in_comment and not self.in_quote and lead < _TAB_WIDTH:
            # Inside a code span that may never close: keep it aside until the paragraph tells.
            command = _command(body, self.prefix, number)
            if command is not None:
                self.pending.append(command)
        self._scan_inline(line)

    def finish(self) -> list[ParsedCommand]:
        self._end_paragraph()
        return sorted(self.found, key=lambda c: c.line)[:MAX_COMMANDS]

    def _close_fence(self, line: str) -> None:
        assert self.fence is not None
        char, length = self.fence
        stripped = line.strip()
        if _indent_width(line) < _TAB_WIDTH and len(stripped) >= length and stripped == char * len(stripped):
            self.fence = None

    def _end_paragraph(self) -> None:
        # An unclosed backtick run is literal text (CommonMark), so commands held back by it count after all.
        if self.open_ticks:
            self.found.extend(self.pending)
        self.pending.clear()
        self.open_ticks = 0

    def _scan_inline(self, line: str) -> None:
        """Track HTML comments and code spans across the line, in one left-to-right pass."""
        pos, size = 0, len(line)
        comment = ticks = -1  # cached next positions (size when there is none), so each find runs once
        while pos < size:
            if self.in_comment:
                end = line.find("-->", pos)
                if end < 0:
                    return
                self.in_comment, pos = False, end + 3
            elif self.open_ticks:
                end = _find_run(line, pos, self.open_ticks)
                if end < 0:
                    return
                self.open_ticks, pos = 0, end
                self.pending.clear()
            else:
                if comment < pos:
                    comment = _find_or_end(line, "<!--", pos)
                if ticks < pos:
                    ticks = _find_or_end(line, "`", pos)
                if ticks < comment:
                    run_end = ticks
                    while run_end < size and line[run_end] == "`":
                        run_end += 1
                    self.open_ticks, pos = run_end - ticks, run_end
                elif comment < size:
                    self.in_comment, pos = True, comment + 4
                else:
                    return


def _find_or_end(line: str, needle: str, pos: int) -> int:
    found = line.find(needle, pos)
    return len(line) if found < 0 else found


def _find_run(line: str, pos: int, length: int) -> int:
    """The end of the next backtick run of exactly LENGTH from pos, or -1."""
    for match in _TICKS.finditer(line, pos):
        if len(match.group()) == length:
            return match.end()
    return -1


def _indent_width(line: str) -> int:
    width = 0
    for char in line:
        if char == " ":
            width += 1
        elif char == "\t":
            width += _TAB_WIDTH - width % _TAB_WIDTH
        else:
            break
    return width


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


def parse_commands(body: str, prefix: str = DEFAULT_COMMAND_PREFIX) -> list[ParsedCommand]:
    """Every command in a comment body, in order, at most MAX_COMMANDS; linear in the body's length."""
    prefix = prefix.strip()
    if not prefix or not body:
        return []
    scanner = _Scanner(prefix)
    # Only \n, \r\n and \r end a line in Markdown (str.splitlines would also split on \u2028 and friends).
    for number, line in enumerate(_LINE_END.split(body[:MAX_BODY_CHARS]), start=1):
        scanner.feed(number, line)
        if len(scanner.found) >= MAX_COMMANDS and scanner.open_ticks == 0:
            break
    return scanner.finish()
