"""Generated blocks: `<!-- steward:exec CMD -->` ... `<!-- /steward:exec -->` refreshed with CMD's output.

Markers count only on a line of their own and outside fenced code, so documentation that shows the syntax
is left alone. CMD is split with shlex and run by an injected runner (the sandbox, in a real run).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sandbox.base import CommandResult

OPEN = re.compile(r"^\s*<!--\s*steward:exec(?:\s(.*?))?\s*-->\s*$", re.DOTALL)
CLOSE = re.compile(r"^\s*<!--\s*/steward:exec\s*-->\s*$")
_OPEN_START = re.compile(r"^\s*<!--\s*steward:exec\b")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
MAX_COMMAND_CHARS = 500
MAX_OUTPUT_CHARS = 20_000
"""Output kept in a block; more is cut with a note (a block is documentation, not a log)."""


Runner = Callable[[list[str]], Awaitable[CommandResult]]
"""Runs one command (argv) in the workspace, without a shell: `Sandbox.run` in a real run."""


class CommandError(ValueError):
    """The text in an exec marker is not one safe command."""


@dataclass(frozen=True)
class ExecBlock:
    """One well-formed block: its command and the lines it spans (open and close marker lines included)."""

    command: str
    argv: list[str]
    open_line: int
    close_line: int


@dataclass(frozen=True)
class Problem:
    line: int
    """1-based line of the marker at fault."""
    message: str


@dataclass
class Refresh:
    """The text after refreshing, and what happened to each block."""

    text: str
    changed: bool = False
    refreshed: list[ExecBlock] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def parse_command(raw: str) -> list[str]:
    """The argv of a marker's command: one line, not empty, balanced quotes, bounded."""
    if "\n" in raw or "\r" in raw:
        raise CommandError("the command must fit on the marker's line")
    if not raw.strip():
        raise CommandError("the marker names no command")
    if len(raw) > MAX_COMMAND_CHARS:
        raise CommandError(f"the command is longer than {MAX_COMMAND_CHARS} characters")
    try:
        return shlex.split(raw)
    except ValueError as exc:
        raise CommandError(f"the command does not parse: {exc}") from None


def _join_open_markers(lines: list[str]) -> list[str]:
    """An open marker spread over several lines is one logical line (so it can be reported, not missed)."""
    out: list[str] = []
    pending: list[str] = []
    for line in lines:
        if pending:
            pending.append(line)
            if "-->" in line:
                out.append("\n".join(pending))
                out.extend([""] * (len(pending) - 1))
                pending = []
            continue
        if _OPEN_START.match(line) and "-->" not in line:
            pending = [line]
            continue
        out.append(line)
    return out + pending


def find_blocks(text: str) -> tuple[list[ExecBlock], list[Problem]]:
    """Every block in the text, and every malformed marker (unterminated, stray, bad command)."""
    lines = _join_open_markers(text.split("\n"))
    blocks: list[ExecBlock] = []
    problems: list[Problem] = []
    fence: str | None = None
    open_at: int | None = None
    raw = ""
    for index, line in enumerate(lines):
        fence_match = _FENCE.match(line)
        if fence is not None:
            if (
                fence_match
                and fence_match.group(1)[0] == fence[0]
                and len(fence_match.group(1)) >= len(fence)
            ):
                fence = None
            continue
        if fence_match:
            fence = fence_match.group(1)
            continue
        opened = OPEN.match(line)
        if opened:
            if open_at is not None:
                problems.append(Problem(open_at + 1, "this block is not closed before the next one opens"))
            open_at, raw = index, opened.group(1) or ""
        elif _OPEN_START.match(line):
            problems.append(Problem(index + 1, "an opening marker that does not end with `-->` on its line"))
        elif CLOSE.match(line):
            if open_at is None:
                problems.append(Problem(index + 1, "a closing marker without an opening one"))
                continue
            try:
                blocks.append(ExecBlock(raw.strip(), parse_command(raw), open_at, index))
            except CommandError as exc:
                problems.append(Problem(open_at + 1, str(exc)))
            open_at = None
    if open_at is not None:
        problems.append(Problem(open_at + 1, "this block has no closing `<!-- /steward:exec -->`"))
    return blocks, problems


def render_output(output: str) -> list[str]:
    """The block's content: the output, cleaned of colours and carriage returns, in a code fence."""
    clean = _ANSI.sub("", output.replace("\r\n", "\n")).replace("\r", "\n")
    clean = "\n".join(line.rstrip() for line in clean.strip("\n").split("\n"))
    if len(clean) > MAX_OUTPUT_CHARS:
        clean = clean[:MAX_OUTPUT_CHARS].rstrip() + f"\n[... output cut at {MAX_OUTPUT_CHARS} characters ...]"
    longest = max((len(run) for run in re.findall(r"^\s*(`+)", clean, re.MULTILINE)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text", *clean.split("\n"), fence] if clean else [f"{fence}text", fence]


async def refresh_blocks(
    text: str, runner: Runner, select: Callable[[ExecBlock], bool] | None = None
) -> Refresh:
    """Run each selected block's command and put its output in the block; failures leave the block as is."""
    blocks, problems = find_blocks(text)
    lines = text.split("\n")
    result = Refresh(text=text, problems=problems)
    for block in reversed(blocks):  # from the bottom, so earlier line numbers stay valid
        if select is not None and not select(block):
            continue
        outcome = await runner(block.argv)
        if not outcome.ok:
            detail = outcome.explanation or " ".join(outcome.output.strip().splitlines()[-1:])[:200]
            how = f"exited with {outcome.exit_code}"
            if outcome.killed_by:
                how = f"was stopped by the {outcome.killed_by} limit"
            message = f"`{block.command}` {how}; the block was left as it was"
            result.problems.append(Problem(block.open_line + 1, message + (f" ({detail})" if detail else "")))
            continue
        lines[block.open_line + 1 : block.close_line] = render_output(outcome.output)
        result.refreshed.insert(0, block)
    result.problems.sort(key=lambda problem: problem.line)
    result.text = "\n".join(lines)
    result.changed = result.text != text
    return result
