"""Generated blocks: found only where they are real, refreshed with the command's output, idempotent."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from jobs.workflows.docs.execblocks import (
    MAX_OUTPUT_CHARS,
    CommandError,
    find_blocks,
    parse_command,
    refresh_blocks,
    render_output,
)
from sandbox.base import CommandResult

pytestmark = pytest.mark.anyio


class FakeRunner:
    """Answers each argv from a table and records what it was asked."""

    def __init__(self, answers: dict[str, CommandResult]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    async def __call__(self, argv: list[str]) -> CommandResult:
        self.calls.append(argv)
        return self.answers[" ".join(argv)]


@pytest.mark.parametrize(
    ("raw", "argv"),
    [
        ("steward --help", ["steward", "--help"]),
        ("  tool 'two words' \"x y\"  ", ["tool", "two words", "x y"]),
        ("python -m app.cli runs --help", ["python", "-m", "app.cli", "runs", "--help"]),
        ("echo $(whoami); rm -rf /", ["echo", "$(whoami);", "rm", "-rf", "/"]),  # no shell: just words
    ],
)
def test_parse_command(raw: str, argv: list[str]) -> None:
    assert parse_command(raw) == argv


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "no command"),
        ("   ", "no command"),
        ("a\nb", "one line"),
        ("'open", "does not parse"),
        ("x" * 501, "longer than"),
    ],
)
def test_parse_command_refuses(raw: str, message: str) -> None:
    with pytest.raises(CommandError, match=message.replace("one line", "fit on the marker's line")):
        parse_command(raw)


DOC = """# Tool

<!-- steward:exec tool --help -->
stale help
<!-- /steward:exec -->

How to write a block:

```markdown
<!-- steward:exec your command -->
<!-- /steward:exec -->
```

Inline `<!-- steward:exec not-a-block -->` is prose.

<!-- steward:exec tool version -->
<!-- /steward:exec -->
"""

MALFORMED = [
    ("unterminated", "<!-- steward:exec a -->\ntext\n", [(1, "no closing")]),
    ("stray close", "text\n<!-- /steward:exec -->\n", [(2, "without an opening")]),
    ("empty command", "<!-- steward:exec -->\n<!-- /steward:exec -->\n", [(1, "no command")]),
    ("bad quotes", "<!-- steward:exec echo 'x -->\n<!-- /steward:exec -->\n", [(1, "does not parse")]),
    ("multi-line", "<!-- steward:exec a\nb -->\n<!-- /steward:exec -->\n", [(1, "fit on the marker")]),
    ("marker never ends", "<!-- steward:exec a\nb\n", [(1, "does not end")]),
    (
        "nested open",
        "<!-- steward:exec a -->\n<!-- steward:exec b -->\n<!-- /steward:exec -->\n",
        [(1, "not closed before the next")],
    ),
]


@pytest.mark.parametrize(("name", "text", "expected"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_blocks_are_reported(name: str, text: str, expected: list[tuple[int, str]]) -> None:
    _, problems = find_blocks(text)
    assert [p.line for p in problems] == [line for line, _ in expected]
    for problem, (_, words) in zip(problems, expected, strict=True):
        assert words in problem.message


def test_only_real_blocks_are_found() -> None:
    blocks, problems = find_blocks(DOC)
    assert [(b.command, b.open_line, b.close_line) for b in blocks] == [
        ("tool --help", 2, 4),
        ("tool version", 15, 16),
    ]
    assert problems == []


async def test_refresh_puts_output_in_a_fence_and_is_idempotent() -> None:
    runner = FakeRunner(
        {
            "tool --help": CommandResult(0, "Usage: tool [OPTIONS]\n\x1b[1mbold\x1b[0m  \r\n", 0.1),
            "tool version": CommandResult(0, "tool 1.2.3\n", 0.1),
        }
    )
    first = await refresh_blocks(DOC, runner)
    assert first.changed and first.problems == []
    assert "stale help" not in first.text
    assert (
        "<!-- steward:exec tool --help -->\n```text\nUsage: tool [OPTIONS]\nbold\n```\n<!-- /steward:exec -->"
        in first.text
    )
    assert "```text\ntool 1.2.3\n```\n<!-- /steward:exec -->\n" in first.text
    assert "```markdown\n<!-- steward:exec your command -->\n<!-- /steward:exec -->\n```" in first.text
    assert runner.calls == [["tool", "version"], ["tool", "--help"]]
    second = await refresh_blocks(first.text, runner)
    assert not second.changed and second.text == first.text


async def test_a_failing_command_leaves_its_block_and_says_why() -> None:
    runner = FakeRunner(
        {
            "tool --help": CommandResult(2, "error: no such option\n", 0.1),
            "tool version": CommandResult(0, "1.0\n", 0.1),
        }
    )
    result = await refresh_blocks(DOC, runner)
    assert "stale help" in result.text and "1.0" in result.text
    assert [p.line for p in result.problems] == [3]
    assert "exited with 2" in result.problems[0].message and "no such option" in result.problems[0].message


async def test_select_limits_which_blocks_run() -> None:
    runner = FakeRunner({"tool version": CommandResult(0, "9\n", 0.1)})
    result = await refresh_blocks(DOC, runner, select=lambda block: block.command == "tool version")
    assert runner.calls == [["tool", "version"]] and "stale help" in result.text


def test_render_output_survives_fences_and_is_bounded() -> None:
    lines = render_output("```python\nx\n```\n")
    assert lines[0] == "````text" and lines[-1] == "````"
    long = render_output("y" * (MAX_OUTPUT_CHARS + 50))
    assert "output cut" in long[-2] and len("".join(long)) < MAX_OUTPUT_CHARS + 100
    assert render_output("") == ["```text", "```"]


async def test_with_a_real_process_in_a_git_checkout(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "T")
    (repo / "README.md").write_text("<!-- steward:exec git log -1 --format=%s -->\n<!-- /steward:exec -->\n")
    git("add", "README.md")
    git("commit", "-q", "-m", "Initial import of the tool")

    async def run(argv: list[str]) -> CommandResult:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=repo, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out, _ = await proc.communicate()
        return CommandResult(proc.returncode or 0, out.decode(), 0.1)

    result = await refresh_blocks((repo / "README.md").read_text(), run)
    assert result.problems == []
    assert "```text\nInitial import of the tool\n```" in result.text


async def test_a_command_stopped_by_a_limit_is_reported_with_the_limit() -> None:
    killed = CommandResult(137, "partial", 300.0, killed_by="time", explanation="ran past 300 s")
    runner = FakeRunner(
        {"tool --help": killed, "tool version": CommandResult(0, "", 0.1, killed_by="output")}
    )
    result = await refresh_blocks(DOC, runner)
    assert "stale help" in result.text and not result.changed
    messages = [p.message for p in result.problems]
    assert "was stopped by the time limit" in messages[0] and "ran past 300 s" in messages[0]
    assert "was stopped by the output limit" in messages[1]
