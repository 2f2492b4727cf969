"""The tools that run in the sandbox, through a real MCP session over a real Docker sandbox: run_command and
search see only the workspace, bound what they return, and show none of the host's environment."""

from __future__ import annotations

import os
from collections.abc import Iterator

import docker
import pytest
from mcp import Client
from mcp.types import TextContent

from jobs.agent.server import build_server
from jobs.agent.tools import MAX_HITS, OUTPUT_CHARS
from policies.loader import load_policy
from tests.agent_fixtures import SECRET, SECRET_NAME, Bench, Calls, context, started_bench
from tests.sandbox_fixtures import docker_client, sandbox_image  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.docker]


@pytest.fixture(scope="module")
def bench(
    tmp_path_factory: pytest.TempPathFactory,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
) -> Iterator[Bench]:
    yield from started_bench(tmp_path_factory.mktemp("agent-sb"), sandbox_image, docker_client, "agent-sb")


async def session_calls(bench: Bench, calls: Calls, *steps: tuple[str, dict[str, object]]) -> list[str]:
    policy = load_policy("docs").model_copy(update={"tools": ["run_command", "search", "read_file"]})
    texts = []
    async with Client(build_server(context(bench.ws, policy, bench.sandbox, calls))) as client:
        for name, arguments in steps:
            result = await client.call_tool(name, arguments)
            texts.append("\n".join(p.text for p in result.content if isinstance(p, TextContent)))
    return texts


async def test_run_command_runs_in_the_sandbox_and_says_how_it_ended(bench: Bench, calls: Calls) -> None:
    (out,) = await session_calls(
        bench, calls, ("run_command", {"command": "id -u; pwd; cat README.md; exit 3"})
    )
    head, begin, *body = out.splitlines()
    assert head.startswith("exit code 3 after ")
    assert begin.startswith("BEGIN DATA ") and "output of the command" in begin
    assert body[:3] == ["1000", "/workspace", "# Widgets"]
    record = calls.last()
    assert record.ok and record.arguments == {"command": "id -u; pwd; cat README.md; exit 3"}


async def test_the_sandbox_environment_holds_no_steward_secret(bench: Bench, calls: Calls) -> None:
    assert os.environ[SECRET_NAME] == SECRET  # the host has it, as a worker holding the model key would
    every = "for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f; done 2>/dev/null"
    outs = await session_calls(
        bench, calls,
        ("run_command", {"command": "env"}),
        ("run_command", {"command": "cat /proc/self/environ | tr '\\0' '\\n'"}),
        ("run_command", {"command": every}),
        ("run_command", {"command": f"cat /proc/1/environ; printenv {SECRET_NAME}; echo done"}),
        ("read_file", {"path": "/proc/self/environ"}),
    )  # fmt: skip
    assert all("PATH=" in out for out in outs[:3]), "the commands must really have dumped an environment"
    for out in outs:
        assert SECRET not in out and SECRET_NAME not in out
    assert all(SECRET not in r.result_excerpt and SECRET not in str(r.arguments) for r in calls.records)
    assert calls.records[-1].refused


async def test_command_output_is_bounded_with_the_cut_said(bench: Bench, calls: Calls) -> None:
    (out,) = await session_calls(bench, calls, ("run_command", {"command": "seq 1 30000; echo the-end"}))
    assert "characters cut" in out and out.rstrip().splitlines()[-2] == "the-end"
    assert len(out) < OUTPUT_CHARS + 500 and out.splitlines()[2] == "1"


async def test_a_command_stopped_by_a_limit_says_which(bench: Bench, calls: Calls) -> None:
    (out,) = await session_calls(
        bench, calls, ("run_command", {"command": "head -c 2000000 /dev/zero | tr '\\0' x"})
    )
    assert "stopped by the output limit" in out.splitlines()[0], out[:300]


async def test_search_finds_literal_and_regex_lines_in_the_workspace(bench: Bench, calls: Calls) -> None:
    literal, regex, none, bad, dotted = await session_calls(
        bench, calls,
        ("search", {"pattern": "widgets --help"}),
        ("search", {"pattern": "^def (add|sign)", "regex": True}),
        ("search", {"pattern": "no such text anywhere"}),
        ("search", {"pattern": "([", "regex": True}),
        ("search", {"pattern": "a.b"}),
    )  # fmt: skip
    assert literal.startswith("1 matching line(s)") and "docs/guide.md:3:Run `widgets --help`." in literal
    assert "src/widgets/calc.py:1:def add(a, b):" in regex and "src/widgets/calc.py:5:def sign(x):" in regex
    assert none == "no line matches 'no such text anywhere'"
    assert "the search failed" in bad and not calls.records[3].ok and not calls.records[3].refused
    assert dotted == "no line matches 'a.b'"  # literal: the dot is a dot


async def test_search_results_are_bounded_and_never_come_from_git(bench: Bench, calls: Calls) -> None:
    many = "for i in $(seq 1 40); do seq 1 30 | sed 's/^/needle /' > docs/many/f$i.md; done"
    planted = "mkdir -p sub/.git && echo needle > sub/.git/config"
    await session_calls(
        bench, calls, ("run_command", {"command": f"mkdir -p docs/many && {many}; {planted}"})
    )
    (found,) = await session_calls(bench, calls, ("search", {"pattern": "needle"}))
    head = found.splitlines()[0]
    assert head == f"800 matching line(s) (the first {MAX_HITS} of 800 shown), as path:line:text"
    assert len(found.splitlines()) == MAX_HITS + 3 and ".git" not in found
