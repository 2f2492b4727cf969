"""The agent engine's tool layer: what a tool call through Steward's MCP server costs over calling the sandbox
directly (client -> server -> sandbox running `true`), p50 and p95, and the ledger space per 100 tool calls.

Target: through MCP at most 1.2x the direct call plus 5 ms at p50 (PASS/FAIL is printed).
Run from the repository root: uv run python bench/agent.py [--calls 50] [--ledger-calls 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path; the project root goes there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import anyio  # noqa: E402
import docker  # noqa: E402
from mcp import Client  # noqa: E402

from jobs.agent.context import ToolCallRecord, ToolContext  # noqa: E402
from jobs.agent.engine import traced_calls  # noqa: E402
from jobs.agent.server import build_server  # noqa: E402
from jobs.ledger import Ledger  # noqa: E402
from policies.loader import load_policy  # noqa: E402
from sandbox import git as hostgit  # noqa: E402
from sandbox.base import CommandResult  # noqa: E402
from sandbox.docker_sandbox import DockerSandbox  # noqa: E402
from sandbox.images import DEFAULT_IMAGE  # noqa: E402
from sandbox.limits import Limits  # noqa: E402

IMAGE = os.environ.get("STEWARD_SANDBOX_IMAGE", DEFAULT_IMAGE)
LIMITS = Limits(memory="512m", cpus=1, pids=128, command_timeout=60, run_timeout=3600)
TARGET_RATIO, TARGET_SLACK_MS = 1.2, 5.0
GUIDE = "# Guide\n\n" + "Widgets make gadgets; run `widgets --help` for the flags.\n" * 40
PAGE = "# New page\n\n" + "A paragraph the agent wrote, about the --json flag.\n" * 30
MIX: list[tuple[str, dict[str, object]]] = [
    ("read_file", {"path": "docs/guide.md"}),
    ("run_command", {"command": "true"}),
    ("search", {"pattern": "gadgets"}),
    ("write_file", {"path": "docs/new.md", "content": PAGE}),
    ("list_files", {}),
    ("write_file", {"path": ".github/workflows/x.yml", "content": "on: push\n"}),  # refused
]
"""A docs agent's calls, in proportion, for the ledger figure."""


async def seed_checkout(root: Path) -> hostgit.Workspace:
    seed = root / "seed"
    for i in range(50):
        (seed / "docs" / f"page{i}.md").parent.mkdir(parents=True, exist_ok=True)
        (seed / "docs" / f"page{i}.md").write_text(f"# Page {i}\n\nText {i}.\n")
    (seed / "docs/guide.md").write_text(GUIDE)
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@e"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(seed)], check=True)
    subprocess.run([*git, "-C", str(seed), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(seed), "commit", "-q", "-m", "seed"], check=True)
    head = subprocess.run(["git", "-C", str(seed), "rev-parse", "HEAD"], capture_output=True, text=True)
    commit = head.stdout.strip()
    return await hostgit.clone(seed.as_uri(), commit, root=root / "run", branch="steward/bench/1", ref="main")


def exec_of(sandbox: DockerSandbox) -> Callable[[list[str] | str], Awaitable[CommandResult]]:
    async def run(cmd: list[str] | str) -> CommandResult:
        return await sandbox.run(cmd if isinstance(cmd, list) else ["sh", "-c", cmd])

    return run


def ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[94]


async def overhead(ws: hostgit.Workspace, sandbox: DockerSandbox, calls: int) -> bool:
    """Direct and through-MCP calls interleaved, in alternating order (drift in the daemon hits both alike)."""
    run = exec_of(sandbox)

    async def discard(record: ToolCallRecord) -> None:
        return None

    policy = load_policy("docs").model_copy(update={"tools": ["run_command"]})
    server = build_server(ToolContext(ws.work_tree, ws.git_dir, policy, run, discard))
    direct: list[float] = []
    through: list[float] = []
    async with Client(server) as client:
        for _ in range(5):  # warm both paths
            await run("true")
            await client.call_tool("run_command", {"command": "true"})
        for i in range(calls):
            for path in ("direct", "mcp") if i % 2 == 0 else ("mcp", "direct"):  # neither always goes first
                t = time.perf_counter()
                if path == "direct":
                    done = await run("true")
                    direct.append(ms(t))
                    assert done.ok, done
                else:
                    result = await client.call_tool("run_command", {"command": "true"})
                    through.append(ms(t))
                    assert not result.is_error, result
    d50, m50 = statistics.median(direct), statistics.median(through)
    limit = TARGET_RATIO * d50 + TARGET_SLACK_MS
    print(f"tool call overhead ({calls} calls each, `true` in the sandbox, in-memory MCP session):")
    print(f"  sandbox directly:       p50 {d50:7.2f} ms   p95 {p95(direct):7.2f} ms")
    print(f"  through Steward's MCP:  p50 {m50:7.2f} ms   p95 {p95(through):7.2f} ms")
    print(f"  ratio at p50 {m50 / d50:.3f}x, added {m50 - d50:+.2f} ms; target <= {limit:.2f} ms "
          f"({TARGET_RATIO}x + {TARGET_SLACK_MS:g} ms)")  # fmt: skip
    passed = m50 <= limit
    print(f"  {'PASS' if passed else 'FAIL'}")
    await dispatch_alone(ws, calls * 4)
    return passed


async def dispatch_alone(ws: hostgit.Workspace, calls: int) -> None:
    """The MCP layer on its own: the same call with a command runner that returns at once."""

    async def instant(cmd: list[str] | str) -> CommandResult:
        return CommandResult(0, "", 0.0)

    async def discard(record: ToolCallRecord) -> None:
        return None

    policy = load_policy("docs").model_copy(update={"tools": ["run_command"]})
    server = build_server(ToolContext(ws.work_tree, ws.git_dir, policy, instant, discard))
    timings = []
    async with Client(server) as client:
        for _ in range(calls):
            t = time.perf_counter()
            await client.call_tool("run_command", {"command": "true"})
            timings.append(ms(t))
    print(f"  the MCP layer alone (no sandbox, {calls} calls): p50 {statistics.median(timings):.3f} ms, "
          f"p95 {p95(timings):.3f} ms")  # fmt: skip


def db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


async def ledger_space(ws: hostgit.Workspace, sandbox: DockerSandbox, tmp: Path, calls: int) -> None:
    """Bytes the SQLite ledger grows by per 100 tool calls of MIX, recorded through a real server."""
    path = tmp / "ledger.db"
    url = f"sqlite+aiosqlite:///{path}"
    ledger = await Ledger.connect(url)
    run_id = (await ledger.create_run("octo/widgets", 7, "docs", actor="bench")).id
    await ledger.close()
    before = db_bytes(path)
    ledger = await Ledger.connect(url, run_migrations=False)
    policy = load_policy("docs").model_copy(update={"tools": ["list_files", "read_file", "search", "write_file",
                                                              "run_command"]})  # fmt: skip
    ctx = ToolContext(ws.work_tree, ws.git_dir, policy, exec_of(sandbox), traced_calls(ledger, run_id))
    start = time.perf_counter()
    async with Client(build_server(ctx)) as client:
        for i in range(calls):
            name, arguments = MIX[i % len(MIX)]
            await client.call_tool(name, arguments)
    seconds = time.perf_counter() - start
    steps = len((await ledger.trace(run_id)).steps)
    await ledger.close()
    grown = db_bytes(path) - before
    print(f"ledger space ({calls} tool calls of a docs agent's mix, SQLite, {steps} steps recorded):")
    print(f"  {grown / calls * 100 / 1024:.1f} KiB per 100 tool calls "
          f"({grown / calls:.0f} bytes a call; {seconds / calls * 1000:.1f} ms a call with its step)")  # fmt: skip


async def main(calls: int, ledger_calls: int) -> int:
    client = docker.from_env(timeout=60)
    with tempfile.TemporaryDirectory() as tmp:
        ws = await seed_checkout(Path(tmp))
        sandbox = DockerSandbox(
            ws.work_tree, LIMITS, run_id=f"bench-agent-{uuid.uuid4().hex[:8]}", image=IMAGE, client=client
        )
        async with sandbox:
            print(f"image {IMAGE}")
            passed = await overhead(ws, sandbox, calls)
            await ledger_space(ws, sandbox, Path(tmp), ledger_calls)
        hostgit.remove(ws)
    client.close()
    return 0 if passed else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--ledger-calls", type=int, default=300)
    args = parser.parse_args()
    sys.exit(anyio.run(main, args.calls, args.ledger_calls))
