"""The workflows' own agent tools through a real MCP session: run_tests and coverage (tests) in a real
sandbox, run as the built-in engine runs them; changelog_entry (docs) through the same checked write."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from mcp import Client
from mcp.types import TextContent

from app.config.model import DocsConfig
from jobs.agent.context import ToolContext
from jobs.agent.server import build_server
from jobs.runs.workflow import WorkItem
from jobs.workflows.docs import agent_tools as docs_tools
from jobs.workflows.tests import agent_tools as tests_tools
from policies.loader import load_policy
from sandbox.base import CommandResult
from tests.agent_fixtures import ISSUE, Bench, Calls, clone_checkout, context, started_bench
from tests.sandbox_fixtures import docker_client, sandbox_image  # noqa: F401

pytestmark = pytest.mark.anyio

SIGN_TESTS = (
    "from widgets.calc import sign\n\n\n"
    "def test_sign():\n    assert (sign(3), sign(-2), sign(0)) == (1, -1, 0)\n"
)


@pytest.fixture(scope="module")
def bench(
    tmp_path_factory: pytest.TempPathFactory,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
) -> Iterator[Bench]:
    yield from started_bench(tmp_path_factory.mktemp("agent-wf"), sandbox_image, docker_client, "agent-wf")


async def texts(ctx: ToolContext, *steps: tuple[str, dict[str, object]]) -> list[str]:
    out = []
    async with Client(build_server(ctx)) as client:
        for name, arguments in steps:
            result = await client.call_tool(name, arguments)
            out.append("\n".join(p.text for p in result.content if isinstance(p, TextContent)))
    return out


def missing_of(report: str, path: str) -> str:
    line = next(line for line in report.splitlines() if line.startswith(f"{path}: "))
    return line.split("missing lines ")[1]


@pytest.mark.docker
async def test_run_tests_and_coverage_show_what_a_new_test_adds(bench: Bench, calls: Calls) -> None:
    ctx = context(bench.ws, load_policy("tests"), bench.sandbox, calls, extra=tests_tools.TOOLS)
    calc = "src/widgets/calc.py"
    before, suite, wrote, after, one = await texts(
        ctx,
        ("coverage", {"sources": [calc]}),
        ("run_tests", {}),
        ("write_file", {"path": "tests/test_sign.py", "content": SIGN_TESTS}),
        ("coverage", {"sources": [calc]}),
        ("run_tests", {"paths": ["tests/test_sign.py::test_sign"]}),
    )
    assert before.startswith("pytest under coverage: exit code 0") and "BEGIN DATA" in before
    assert missing_of(before, calc) == "6-10"  # sign() never ran
    assert suite.startswith("pytest: exit code 0") and "1 passed" in suite
    assert wrote.startswith("wrote tests/test_sign.py")
    assert missing_of(after, calc) == "none" and f"{calc}: lines 100.0%, branches 100.0%" in after
    assert one.startswith("pytest: exit code 0") and "1 passed" in one
    assert [r.name for r in calls.records] == ["coverage", "run_tests", "write_file", "coverage", "run_tests"]
    assert all(r.ok for r in calls.records)
    assert sorted(os.listdir(bench.ws.work_tree / "tests")) == ["test_calc.py", "test_sign.py"]  # no caches


@pytest.mark.docker
async def test_a_failing_test_and_hostile_test_paths(bench: Bench, calls: Calls) -> None:
    ctx = context(bench.ws, load_policy("tests"), bench.sandbox, calls, extra=tests_tools.TOOLS)
    failing = "def test_wrong():\n    assert 1 + 1 == 3\n"
    _, failed, option, escape = await texts(
        ctx,
        ("write_file", {"path": "tests/test_wrong.py", "content": failing}),
        ("run_tests", {"paths": ["tests/test_wrong.py"]}),
        ("run_tests", {"paths": ["--help"]}),
        ("coverage", {"sources": ["../seed/src/widgets/calc.py"]}),
    )
    assert failed.startswith("pytest: exit code 1") and "assert (1 + 1) == 3" in failed
    assert "usage:" not in option and "/workspace/--help" in option  # a path, never an option
    assert "`..` is not allowed" in escape and calls.last().refused


async def test_the_tests_policy_offers_its_tools_and_docs_does_not(tmp_path: Path, calls: Calls) -> None:
    ws = await clone_checkout(tmp_path)

    async def never(cmd: list[str] | str) -> CommandResult:
        raise AssertionError("nothing runs")

    tests_ctx = ToolContext(
        ws.work_tree, ws.git_dir, load_policy("tests"), never, calls, extra=tests_tools.TOOLS
    )
    async with Client(build_server(tests_ctx)) as client:
        assert {"run_tests", "coverage"} <= {t.name for t in (await client.list_tools()).tools}
    extra = (*tests_tools.TOOLS, *docs_tools.tools(DocsConfig()))
    docs_ctx = ToolContext(ws.work_tree, ws.git_dir, load_policy("docs"), never, calls, extra=extra)
    async with Client(build_server(docs_ctx)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        refused = await client.call_tool("run_tests", {})
    assert "changelog_entry" in names and not {"run_tests", "coverage"} & names
    assert refused.is_error and calls.last().refused


async def docs_context(
    tmp_path: Path, calls: Calls, item: WorkItem | None, config: DocsConfig
) -> ToolContext:
    ws = await clone_checkout(tmp_path)

    async def never(cmd: list[str] | str) -> CommandResult:
        raise AssertionError("nothing runs")

    policy = load_policy("docs").model_copy(update={"tools": ["changelog_entry"]})
    return ToolContext(
        ws.work_tree, ws.git_dir, policy, never, calls, item=item, extra=docs_tools.tools(config)
    )


async def test_changelog_entry_adds_the_issue_once(tmp_path: Path, calls: Calls) -> None:
    ctx = await docs_context(tmp_path, calls, WorkItem(ISSUE), DocsConfig())
    first, again = await texts(
        ctx, ("changelog_entry", {"section": "Added", "summary": "Document --json"}), ("changelog_entry", {})
    )
    assert first == "CHANGELOG.md: added #7 under Unreleased → Added"
    assert again == "CHANGELOG.md unchanged: the changelog already has an entry for #7"
    text = (ctx.workspace / "CHANGELOG.md").read_text()
    assert "### Added\n\n- Document --json ([#7](https://github.com/octo/widgets/issues/7))" in text
    assert text.index("### Added") < text.index("## [1.0.0]") and ctx.written == {"CHANGELOG.md"}


async def test_changelog_entry_picks_the_section_from_the_labels(tmp_path: Path, calls: Calls) -> None:
    bug = dataclasses.replace(ISSUE, labels=["bug"])
    ctx = await docs_context(
        tmp_path, calls, WorkItem(bug), DocsConfig(changelog="docs/CHANGES.md", create_changelog=True)
    )
    (made,) = await texts(ctx, ("changelog_entry", {}))
    assert made == "docs/CHANGES.md: added #7 under Unreleased → Fixed"
    assert "### Fixed\n\n- Document the --json flag ([#7]" in (ctx.workspace / "docs/CHANGES.md").read_text()


async def test_changelog_entry_goes_through_the_same_checks_as_write_file(
    tmp_path: Path,
    calls: Calls,
) -> None:
    config = DocsConfig(changelog="src/CHANGES.txt", create_changelog=True)
    outside = await docs_context(tmp_path / "a", calls, WorkItem(ISSUE), config)
    (refused,) = await texts(outside, ("changelog_entry", {}))
    assert "outside the paths this run may write" in refused and calls.last().refused
    assert not (outside.workspace / "src/CHANGES.txt").exists()
    linked = await docs_context(tmp_path / "b", calls, WorkItem(ISSUE), DocsConfig())
    target = tmp_path / "elsewhere.md"
    target.write_text("# Changelog\n")
    (linked.workspace / "CHANGELOG.md").unlink()
    (linked.workspace / "CHANGELOG.md").symlink_to(target)
    (through_link,) = await texts(linked, ("changelog_entry", {}))
    assert "symbolic link" in through_link and calls.last().refused
    assert target.read_text() == "# Changelog\n"
    no_item = await docs_context(tmp_path / "c", calls, None, DocsConfig())
    (nothing,) = await texts(no_item, ("changelog_entry", {}))
    assert "not about an issue" in nothing and not calls.last().ok and not calls.last().refused
