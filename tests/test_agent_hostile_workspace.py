"""The agent's host-side tools over a workspace the sandbox keeps changing: a link swapped in and out of a
doc by a process left running, a planted `.git`, a huge sparse file. The host never follows the link, never
reads or writes a `.git` entry, and reads a bounded part of the huge file at most."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from mcp import Client
from mcp.types import TextContent

from jobs.agent.server import build_server
from jobs.agent.tools import READ_CHARS
from policies.loader import load_policy
from tests.agent_fixtures import Bench, Calls, context, started_bench
from tests.sandbox_fixtures import docker_client, sandbox_image  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.docker]
TOOLS = ["run_command", "read_file", "write_file", "list_files"]
LOOPS = (
    "n=0; for f in /proc/[0-9]*/cmdline; do cat $f 2>/dev/null | tr '\\0' ' ' | grep -q 'whil[e] :' "
    '&& n=$((n+1)); done; echo "loops=$n"'
)
"""How many shell loops run in the sandbox (the image has no pgrep or ps); `whil[e]` keeps the probe's own
command line from matching."""


@pytest.fixture
def bench(
    tmp_path: Path,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
) -> Iterator[Bench]:
    yield from started_bench(tmp_path / "bench", sandbox_image, docker_client, "agent-hostile")


async def call(client: Client, name: str, **arguments: object) -> tuple[bool, str]:
    result = await client.call_tool(name, arguments)
    return result.is_error, "\n".join(p.text for p in result.content if isinstance(p, TextContent))


async def test_a_link_swapped_in_and_out_by_a_process_left_running_is_never_followed(
    bench: Bench, calls: Calls, tmp_path: Path
) -> None:
    outside = tmp_path / "host-only"  # a host directory the link names; only the host could follow it
    outside.mkdir()
    (outside / "usage.md").write_text("the host's own file\n")
    policy = load_policy("docs").model_copy(update={"tools": TOOLS})
    loop = (
        f"(while :; do ln -sfn {outside}/usage.md docs/usage.md; rm -f docs/usage.md; "
        "echo planted > docs/usage.md; done) >/dev/null 2>&1 &"
    )
    async with Client(build_server(context(bench.ws, policy, bench.sandbox, calls))) as client:
        failed, alive = await call(client, "run_command", command=f"mkdir -p docs; {loop} sleep 0.3; {LOOPS}")
        # While its command runs, the probe sees the loop (and the command's own shell, whose line holds it).
        assert not failed and re.search(r"loops=[1-9]", alive), alive
        outcomes = []
        for n in range(10):
            outcomes.append(await call(client, "write_file", path="docs/usage.md", content=f"round {n}\n"))
            outcomes.append(await call(client, "read_file", path="docs/usage.md"))
        _, survivors = await call(client, "run_command", command=LOOPS)
        # then the link for certain, with another loop left running beside it
        busy = "(while :; do touch docs/other.md; done) >/dev/null 2>&1 &"
        failed, _ = await call(
            client, "run_command", command=f"ln -sfn {outside}/usage.md docs/usage.md; {busy} sleep 0.2"
        )
        assert not failed
        write_link = await call(client, "write_file", path="docs/usage.md", content="through the link\n")
        read_link = await call(client, "read_file", path="docs/usage.md")
    assert (outside / "usage.md").read_text() == "the host's own file\n"
    assert sorted(p.name for p in outside.iterdir()) == ["usage.md"]
    assert all("the host's own file" not in text for _, text in outcomes)
    assert "loops=0" in survivors, survivors  # the loop did not outlive its command: the tree is still
    assert write_link[0] and read_link[0]  # both refused: the host never goes through the link


async def test_a_planted_git_entry_is_neither_read_nor_written_and_a_huge_file_is_read_bounded(
    bench: Bench, calls: Calls
) -> None:
    policy = load_policy("docs").model_copy(update={"tools": TOOLS})
    plant = "mkdir -p .git docs && printf '[core]\\n\\thooksPath = /tmp\\n' > .git/config && " \
        "truncate -s 8G docs/huge.md"  # fmt: skip
    async with Client(build_server(context(bench.ws, policy, bench.sandbox, calls))) as client:
        failed, _ = await call(client, "run_command", command=plant)
        assert not failed
        read_git, _ = await call(client, "read_file", path=".git/config")
        write_git, _ = await call(
            client, "write_file", path=".git/hooks/post-checkout", content="#!/bin/sh\n"
        )
        _, listed = await call(client, "list_files")
        started = time.monotonic()
        _, huge = await call(client, "read_file", path="docs/huge.md")
        took = time.monotonic() - started
    assert read_git and write_git  # both refused
    assert [r.refused for r in calls.records if r.name in ("read_file", "write_file")][:2] == [True, True]
    assert ".git/" not in listed
    assert not (bench.ws.work_tree / ".git" / "hooks").exists()
    assert len(huge) < READ_CHARS + 2000 and took < 10  # a bounded read (or a refusal), never 8 GiB
