"""Steward's own tools, each bound to one run; what they return to the model is data in labelled blocks."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from jobs.agent import workspace
from jobs.agent.context import AgentTool, ToolContext, ToolFn
from jobs.agent.data import as_data, cut, one_line
from jobs.agent.errors import ToolError
from jobs.agent.issue import issue_text
from sandbox.base import CommandResult
from sandbox.diffcheck import listed

MAX_LISTED_FILES = 2000
READ_CHARS = 128 * 1024
"""What read_file returns of one file; the rest is said to be cut."""
MAX_HITS = 200
HITS_PER_FILE = 20
HIT_CHARS = 300
OUTPUT_CHARS = 16 * 1024
MAX_COMMAND_CHARS = 64 * 1024

PathArg = Annotated[str, Field(description="A path relative to the repository root, e.g. docs/guide.md")]


def outcome(done: CommandResult) -> str:
    """A command's end in Steward's words (trusted), before its output (data)."""
    how = f"exit code {done.exit_code} after {done.duration:.1f} s"
    if done.killed_by:
        how += f"; stopped by the {done.killed_by} limit" + (
            f": {done.explanation}" if done.explanation else ""
        )
    return how


def _list_files(ctx: ToolContext) -> ToolFn:
    async def list_files() -> str:
        found = await workspace.files(ctx, MAX_LISTED_FILES + 1)
        more = f"; only the first {MAX_LISTED_FILES} are listed" if len(found) > MAX_LISTED_FILES else ""
        shown = found[:MAX_LISTED_FILES]
        writable = listed(list(ctx.policy.writable)) or "nothing"
        head = f"{len(shown)} file(s){more}. This run may write: {writable}."
        return f"{head}\n{as_data('files in the workspace', chr(10).join(shown))}"

    return list_files


def _read_file(ctx: ToolContext) -> ToolFn:
    async def read_file(path: PathArg) -> str:
        data = await workspace.read(ctx, path)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return f"{one_line(path)} is a binary file of {len(data)} bytes; it is not shown"
        note = f" (cut: it has {len(text)} characters)" if len(text) > READ_CHARS else ""
        return f"{as_data(f'file {path}', text[:READ_CHARS])}{note}"

    return read_file


def _hits(output: str) -> tuple[list[str], int]:
    lines = [line.removeprefix("./") for line in output.splitlines() if line]
    return [cut(line, HIT_CHARS, HIT_CHARS - 20) for line in lines[:MAX_HITS]], len(lines)


def _search(ctx: ToolContext) -> ToolFn:
    async def search(
        pattern: Annotated[
            str, Field(description="The text to find (a regular expression if regex is true)")
        ],
        regex: Annotated[
            bool, Field(description="Treat the pattern as an extended regular expression")
        ] = False,
    ) -> str:
        if not pattern or "\0" in pattern or "\n" in pattern:
            raise ToolError("give one line of text to search for")
        mode = "-E" if regex else "-F"
        # grep in the sandbox: a pattern can never make the host backtrack, and no link is followed (-r).
        argv = [
            "grep",
            "-rnIH",
            "--exclude-dir=.git",
            "-m",
            str(HITS_PER_FILE),
            mode,
            "-e",
            pattern,
            "--",
            ".",
        ]
        done = await ctx.run(argv)
        if done.exit_code == 1 and not done.killed_by:
            return f"no line matches {one_line(pattern)!r}"
        if done.exit_code != 0:
            raise ToolError(f"the search failed ({outcome(done)}): {one_line(done.output, 300)}")
        hits, total = _hits(done.output)
        more = f" (the first {len(hits)} of {total} shown)" if total > len(hits) else ""
        return f"{total} matching line(s){more}, as path:line:text\n" + as_data(
            "search results", "\n".join(hits)
        )

    return search


def _write_file(ctx: ToolContext) -> ToolFn:
    async def write_file(
        path: PathArg, content: Annotated[str, Field(description="The whole new content of the file")]
    ) -> str:
        try:
            data = content.encode("utf-8")
        except UnicodeEncodeError:
            raise ToolError("the content is not valid Unicode text") from None
        written = await workspace.write(ctx, path, data)
        return f"wrote {one_line(written)} ({len(data)} bytes)"

    return write_file


def _run_command(ctx: ToolContext) -> ToolFn:
    async def run_command(
        command: Annotated[str, Field(description="A shell command, run by sh -c in /workspace")],
    ) -> str:
        if not command.strip() or "\0" in command or len(command) > MAX_COMMAND_CHARS:
            raise ToolError(f"give one shell command (at most {MAX_COMMAND_CHARS} characters, no NUL)")
        done = await ctx.run(command)
        return f"{outcome(done)}\n{as_data('output of the command', cut(done.output, OUTPUT_CHARS))}"

    return run_command


def _get_issue(ctx: ToolContext) -> ToolFn:
    async def get_issue() -> str:
        if ctx.item is None:
            raise ToolError("this run is not about an issue or pull request")
        return issue_text(ctx.item, ctx.comments)

    return get_issue


BUILTIN = (
    AgentTool("list_files", "List the files in the workspace (tracked, and new ones).", _list_files),
    AgentTool("read_file", "Read a text file of the workspace.", _read_file),
    AgentTool("search", "Search the workspace's text files for a line (grep).", _search),
    AgentTool(
        "write_file",
        "Write a file of the workspace (replacing it). Only the paths the workflow may change are accepted.",
        _write_file,
    ),
    AgentTool(
        "run_command",
        "Run a shell command in the run's sandbox (in /workspace): no network, within the run's limits.",
        _run_command,
    ),
    AgentTool("get_issue", "The issue or pull request this run is about: title, body, comments.", _get_issue),
)
"""Steward's own tools; a run offers those of them its policy lists."""
