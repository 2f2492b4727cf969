"""The tests workflow's agent tools: pytest and coverage.py, run the way the built-in engine runs them."""

from __future__ import annotations

from typing import Annotated

import anyio
from pydantic import Field

from jobs.agent.context import AgentTool, ToolContext, ToolFn
from jobs.agent.data import as_data, cut
from jobs.agent.tools import OUTPUT_CHARS, outcome
from jobs.agent.workspace import repo_path
from jobs.workflows.tests.affected import repository_files
from jobs.workflows.tests.layout import detect
from jobs.workflows.tests.measure import FileCoverage, Report
from jobs.workflows.tests.planning import source_roots
from jobs.workflows.tests.sandboxenv import PYTHON, SCRATCH, WORKSPACE, env_prefix, pytest_args, timed
from jobs.workflows.tests.session import Session

MAX_REPORTED = 100
"""Files one coverage answer lists."""

TestPaths = Annotated[
    list[str] | None,
    Field(description="Test files or node ids relative to the repository root; default: the test folder"),
]


async def _layout(ctx: ToolContext) -> tuple[list[str], list[str]]:
    """The project's source roots and the default test targets, from the checkout's file list."""
    files = await anyio.to_thread.run_sync(repository_files, ctx.workspace, ctx.git_dir)
    return source_roots(files), [detect(files).folder or "."]


def _targets(paths: list[str] | None, default: list[str]) -> list[str]:
    # Absolute sandbox paths: a path the model gives can never be read by pytest as an option.
    return [f"{WORKSPACE}/{repo_path(path)}" for path in paths] if paths else default


def _run_tests(ctx: ToolContext) -> ToolFn:
    async def run_tests(paths: TestPaths = None) -> str:
        roots, default = await _layout(ctx)
        seconds = ctx.policy.limits.command_timeout
        command = f"{env_prefix(roots)} " + timed(
            seconds, f"{PYTHON} {pytest_args(_targets(paths, default))}"
        )
        done = await ctx.run(f"mkdir -p {SCRATCH} && {command}")
        return f"pytest: {outcome(done)}\n{as_data('pytest output', cut(done.output, OUTPUT_CHARS))}"

    return run_tests


def _ranges(lines: frozenset[int]) -> str:
    spans: list[list[int]] = []
    for line in sorted(lines):
        if spans and line == spans[-1][1] + 1:
            spans[-1][1] = line
        else:
            spans.append([line, line])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans) or "none"


def _row(path: str, found: FileCoverage) -> str:
    return (
        f"{path}: lines {found.line_percent:.1f}%, branches {found.branch_percent:.1f}%, "
        f"missing lines {_ranges(found.missing)}"
    )


def report_text(report: Report, limit: int = MAX_REPORTED) -> str:
    """One line per file, least covered first."""
    ranked = sorted(report.files.items(), key=lambda item: (item[1].line_percent, item[0]))
    rows = [_row(path, found) for path, found in ranked[:limit]]
    if len(ranked) > limit:
        rows.append(f"[{len(ranked) - limit} more file(s) not listed]")
    return "\n".join(rows)


def _coverage(ctx: ToolContext) -> ToolFn:
    async def coverage(
        sources: Annotated[
            list[str] | None, Field(description="Source files to report on; default: every measured file")
        ] = None,
        tests: TestPaths = None,
    ) -> str:
        roots, default = await _layout(ctx)
        include = [f"{WORKSPACE}/{repo_path(path)}" for path in sources] if sources else [f"{WORKSPACE}/*"]
        session = Session(ctx.run, roots)
        await session.raw(f"mkdir -p {SCRATCH}")
        seconds = ctx.policy.limits.command_timeout
        done, report = await session.covered(_targets(tests, default), include, seconds, "", source=roots)
        head = f"pytest under coverage: {outcome(done)}"
        if report is None:
            output = as_data("pytest output", cut(done.output, OUTPUT_CHARS))
            return f"{head}; coverage.py wrote no report\n{output}"
        return f"{head}\n{as_data('coverage per file', report_text(report))}"

    return coverage


RUN_TESTS = AgentTool(
    "run_tests", "Run pytest in the sandbox (the whole test folder, or the given test files).", _run_tests
)
COVERAGE = AgentTool(
    "coverage",
    "Run the tests under coverage.py (branch coverage) and report, per source file, the lines and branches "
    "covered and the lines missed.",
    _coverage,
)
TOOLS = (RUN_TESTS, COVERAGE)
"""What the tests workflow adds to Steward's own tools (ToolContext.extra)."""
