"""External MCP servers: declared by the operator, enabled by the repository, offered as `<server>_<tool>`.

A real MCP server (mcp 2.x, over stdio, run with this interpreter) is started by the agent engine during a
local docs run driven by a scripted FunctionModel; the sandbox, the checkout and the ledger are real. What is
checked is Steward's part: only the allowlisted tools are offered, every call is metered and traced, a call to
another is refused and recorded, the server's environment holds none of Steward's secrets, and a name the
operator did not declare refuses the plan.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic_ai.exceptions import ModelRetry
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo, FunctionModel

from app.mcp_servers import McpServer, parse_mcp_servers
from app.observability import tracing
from app.settings import Settings, SettingsError, load_settings
from jobs.agent.budget import BudgetExceeded, Meter
from jobs.agent.context import ToolCallRecord
from jobs.agent.engine import EngineModel
from jobs.agent.external import metered_calls
from jobs.runs.local import LocalOptions, plan_local
from jobs.runs.localitem import LocalRunError
from policies.budget import Budget
from tests.run_fixtures import git
from tests.test_agent_engine import calls, checkout, price, run_local, text, trace_of

SERVER = '''
import json, os, sys
from mcp.server.mcpserver import MCPServer

with open(sys.argv[1], "w") as seen:  # what the server was started with, for the test to read
    json.dump({"env": dict(os.environ), "cwd": os.getcwd(), "pid": os.getpid()}, seen)

server = MCPServer("ext")


@server.tool()
def echo(text: str) -> str:
    """Say the text back."""
    return "echo: " + text


@server.tool()
def secret_env() -> str:
    """The server's whole environment."""
    return json.dumps(dict(os.environ))


server.run()
'''
SECRET = "sk-test-" + os.urandom(8).hex()
TOKEN = "ghs_" + os.urandom(8).hex()


def server(tmp_path: Path, *tools: str) -> tuple[McpServer, Path]:
    script, seen = tmp_path / "ext_server.py", tmp_path / "ext_seen.json"
    script.write_text(SERVER)
    return McpServer(name="ext", command=(sys.executable, str(script), str(seen)), tools=tools), seen


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def enable(repo: Path, *names: str) -> None:
    (repo / ".github").mkdir(exist_ok=True)
    (repo / ".github" / "steward.yml").write_text(
        f"workflows:\n  docs:\n    mcp_servers: {json.dumps(names)}\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "enable the external server")


def options(
    tmp_path: Path, repo: Path, issue: Path, answer: Any, declared: tuple[McpServer, ...]
) -> LocalOptions:
    settings = Settings(_env_file=None)
    return LocalOptions(
        repo=repo, issue_json=issue, yes=True, db_url=f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}",
        image=settings.sandbox_image, data_dir=tmp_path / "data", workflow="docs", engine="agent",
        model=lambda: EngineModel(FunctionModel(answer, model_name="scripted"), price, servers=declared),
        model_label="test:scripted", mcp_servers=declared,
    )  # fmt: skip


def scripted(*turns: ModelResponse) -> tuple[Any, list[list[str]]]:
    """These responses in order, then done; records the tool names each request was offered."""
    offered: list[list[str]] = []

    def answer(_messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        offered.append(sorted(tool.name for tool in info.function_tools))
        return turns[len(offered) - 1] if len(offered) <= len(turns) else text("done")

    return answer, offered


# --- settings -------------------------------------------------------------------------------------------


def test_servers_are_read_from_json_and_each_offers_its_allowlist_prefixed() -> None:
    raw = json.dumps([
        {"name": "search", "command": ["uvx", "mcp-search"], "tools": ["query", "fetch"]},
        {"name": "issue-db", "url": "http://127.0.0.1:9000/mcp/", "tools": ["lookup"]},
    ])  # fmt: skip
    servers = parse_mcp_servers(raw)
    assert [s.name for s in servers] == ["search", "issue-db"]
    assert servers[0].command == ("uvx", "mcp-search") and servers[1].url == "http://127.0.0.1:9000/mcp/"
    assert servers[0].offered() == ["search_query", "search_fetch"] and servers[1].offered() == [
        "issue-db_lookup"
    ]
    assert parse_mcp_servers("") == [] and Settings(_env_file=None).mcp_servers == []


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (
            [{"name": "Search", "command": ["x"], "tools": ["a"]}],
            "server #1 ('Search'): name: expected 1 to 32",
        ),
        ([{"name": "ok", "tools": ["a"]}], "server #1 ('ok'): give exactly one of `command`"),
        (
            [
                {"name": "ok", "command": ["x"], "tools": ["a"]},
                {"name": "two", "command": ["x"], "url": "http://127.0.0.1:1/", "tools": ["a"]},
            ],
            "server #2 ('two'): give exactly one of `command`",
        ),
        (
            [{"name": "ok", "command": [], "tools": ["a"]}],
            "server #1 ('ok'): command: expected a non-empty argv",
        ),
        (
            [{"name": "ok", "url": "ftp://host/", "tools": ["a"]}],
            "server #1 ('ok'): url: expected an http://",
        ),
        ([{"name": "ok", "url": "http://u:p@host/", "tools": ["a"]}], "url: must not carry credentials"),
        ([{"name": "ok", "command": ["x"], "tools": []}], "server #1 ('ok'): tools:"),
        ([{"name": "ok", "command": ["x"], "tools": ["a b"]}], "not 'a b'"),
        ([{"name": "ok", "command": ["x"], "tools": ["a"], "env": {}}], "env: Extra inputs"),
        ([{"name": "ok", "command": ["x"], "tools": ["a"]}] * 2, "two servers are named 'ok'"),
        (
            [
                {"name": "a_b", "command": ["x"], "tools": ["c"]},
                {"name": "a", "command": ["x"], "tools": ["b_c"]},
            ],
            "two servers would offer a tool named `a_b_c`",
        ),
        ({"name": "ok"}, "expected a JSON list"),
    ],
)
def test_a_bad_declaration_is_refused_at_start_naming_the_entry(
    monkeypatch: pytest.MonkeyPatch, entries: Any, expected: str
) -> None:
    monkeypatch.setenv("STEWARD_MCP_SERVERS", json.dumps(entries))
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith("invalid settings: STEWARD_MCP_SERVERS: ")
    assert expected in str(caught.value)


def test_a_declaration_that_is_not_json_says_what_is_expected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEWARD_MCP_SERVERS", "[{name: search}]")
    with pytest.raises(SettingsError, match=r'STEWARD_MCP_SERVERS: .*not JSON; expected a list of \{"name"'):
        load_settings()


# --- the engine -----------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.docker
@pytest.mark.timeout(180)
async def test_only_the_allowlisted_tool_is_offered_and_every_call_is_metered_and_traced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, issue = checkout(tmp_path)
    enable(repo, "ext")
    declared, seen = server(tmp_path, "echo")
    answer, offered = scripted(
        calls(("ext_echo", {"text": "hello from the model"})),
        calls(("ext_secret_env", {})),
        calls(("write_file", {"path": "docs/usage.md", "content": "# Usage\n\nechoed.\n"})),
        text("done"),
    )
    opts = options(tmp_path, repo, issue, answer, (declared,))
    monkeypatch.setenv("STEWARD_MODEL_API_KEY", SECRET)  # in Steward's environment: never in the server's
    monkeypatch.setenv("STEWARD_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    lines: list[str] = []
    run_id = await run_local(opts, lines)
    out = "\n".join(lines)
    assert "`ext_echo`" in out and "ext_secret_env" not in out.split("**tools offered:**")[1].split("\n")[0]
    assert offered and all("ext_echo" in names and "ext_secret_env" not in names for names in offered)
    assert "list_files" in offered[0]  # Steward's own tools are offered beside it
    trace = await trace_of(opts, run_id)
    assert trace["state"] == "proposed", out
    assert trace["plan"]["agent"]["mcp_servers"] == ["ext"] and "ext_echo" in trace["plan"]["agent"]["tools"]
    tools = [s for s in trace["steps"] if s["kind"] == "tool"]
    assert [(s["name"], s["refused"]) for s in tools] == [
        ("ext_echo", False), ("ext_secret_env", True), ("write_file", False)
    ]  # fmt: skip
    echo = tools[0]
    assert (
        "echo: hello from the model" in echo["output"]["excerpt"]
        and "BEGIN DATA" in echo["output"]["excerpt"]
    )
    assert echo["detail"]["arguments"] == {"text": "hello from the model"}
    assert len(echo["detail"]["arguments_sha256"]) == 64 and len(echo["detail"]["result_sha256"]) == 64
    assert "is not a tool this run offers" in tools[1]["output"]["excerpt"]
    assert "ext_echo" in tools[1]["output"]["excerpt"]  # the refusal names what is offered
    assert trace["totals"]["tool_calls"] == 3  # the refused call counted too
    # the server got PATH and HOME (and what the mcp client adds), none of Steward's variables or secrets
    started = json.loads(seen.read_text())
    # (LC_CTYPE: Python's own locale coercion in the child, PEP 538, when it starts under the C locale)
    assert set(started["env"]) <= {"PATH", "HOME", "LOGNAME", "SHELL", "TERM", "USER", "LC_CTYPE"}
    assert "PATH" in started["env"]
    assert SECRET not in seen.read_text() and TOKEN not in seen.read_text()
    assert not Path(started["cwd"]).is_relative_to(repo) and not Path(started["cwd"]).exists()
    assert not alive(started["pid"])  # stopped with the run
    assert SECRET not in json.dumps(trace)


@pytest.mark.anyio
@pytest.mark.docker
@pytest.mark.timeout(180)
async def test_an_allowlisted_environment_tool_shows_no_secret_of_stewards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, issue = checkout(tmp_path)
    enable(repo, "ext")
    declared, _ = server(tmp_path, "secret_env")
    answer, offered = scripted(calls(("ext_secret_env", {})), text("done"))
    opts = options(tmp_path, repo, issue, answer, (declared,))
    monkeypatch.setenv("STEWARD_MODEL_API_KEY", SECRET)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    run_id = await run_local(opts, [])
    assert "ext_secret_env" in offered[0] and "ext_echo" not in offered[0]
    trace = await trace_of(opts, run_id)
    (step,) = [s for s in trace["steps"] if s["kind"] == "tool"]
    assert step["name"] == "ext_secret_env" and not step["refused"]
    excerpt = step["output"]["excerpt"]
    assert '"PATH"' in excerpt and "STEWARD_" not in excerpt
    assert SECRET not in json.dumps(trace) and TOKEN not in json.dumps(trace)


@pytest.mark.anyio
@pytest.mark.docker
@pytest.mark.timeout(120)
async def test_a_server_the_operator_did_not_declare_refuses_the_plan(tmp_path: Path) -> None:
    repo, issue = checkout(tmp_path)
    enable(repo, "ext", "nosuch")
    declared, seen = server(tmp_path, "echo")
    answer, offered = scripted()
    opts = options(tmp_path, repo, issue, answer, (declared,))
    with pytest.raises(LocalRunError) as caught:
        await plan_local(opts, print, print)
    message = str(caught.value)
    assert "`workflows.docs.mcp_servers`" in message and "`nosuch`" in message and "declared" in message
    assert "`ext`" in message  # what the operator did declare
    assert offered == [] and not seen.exists()  # no model asked, no server started


@pytest.mark.anyio
@pytest.mark.docker
@pytest.mark.timeout(120)
async def test_a_server_that_cannot_start_fails_the_run_in_words(tmp_path: Path) -> None:
    repo, issue = checkout(tmp_path)
    enable(repo, "ext")
    missing = McpServer(name="ext", command=(str(tmp_path / "no-such-server"),), tools=("echo",))
    answer, offered = scripted(text("done"))
    opts = options(tmp_path, repo, issue, answer, (missing,))
    lines: list[str] = []
    run_id = await run_local(opts, lines)
    trace = await trace_of(opts, run_id)
    assert trace["state"] == "failed" and offered == []
    assert trace["transitions"][-1]["reason"] == "an MCP server the agent needs is not available"
    assert any("the MCP server `ext` could not be reached" in line for line in lines), lines


@pytest.mark.anyio
async def test_each_external_call_is_metered_before_it_is_made_and_an_unlisted_one_never_is() -> None:
    made: list[str] = []
    records: list[ToolCallRecord] = []

    async def call_tool(name: str, args: dict[str, Any], *, metadata: dict[str, Any] | None = None) -> Any:
        made.append(name)
        return {"said": args["text"]}

    async def on_call(record: ToolCallRecord) -> None:
        records.append(record)

    meter = Meter(Budget(tool_calls=2))
    hook = metered_calls("ext", ["echo"], meter, on_call)
    with pytest.raises(ModelRetry, match="`ext_secret_env` is not a tool this run offers"):
        await hook(None, call_tool, "secret_env", {})  # type: ignore[arg-type]
    shown = await hook(None, call_tool, "echo", {"text": "hi"})  # type: ignore[arg-type]
    with pytest.raises(BudgetExceeded, match="`tool_calls` budget"):
        await hook(None, call_tool, "echo", {"text": "once more"})  # type: ignore[arg-type]
    assert made == ["echo"] and meter.tool_calls == 2
    assert [(r.name, r.refused, r.ok) for r in records] == [
        ("ext_secret_env", True, False),
        ("ext_echo", False, True),
    ]
    assert '{"said": "hi"}' in shown and "BEGIN DATA" in shown and records[1].result_excerpt == shown


WEB_SERVER = '''
import sys
from mcp.server.mcpserver import MCPServer

server = MCPServer("web")


@server.tool()
def echo(text: str) -> str:
    """Say the text back."""
    return "web echo: " + text


@server.tool()
def shout(text: str) -> str:
    """Say the text back in capitals."""
    return text.upper()


port = int(sys.argv[1])
server.run("streamable-http", host="127.0.0.1", port=port, stateless_http=True, json_response=True)
'''


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracing.install(provider)
    try:
        yield spans
    finally:
        tracing.uninstall()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.anyio
@pytest.mark.docker
@pytest.mark.timeout(180)
async def test_a_server_reached_by_url_on_loopback_offers_only_its_allowlist_and_is_traced(
    tmp_path: Path, exporter: InMemorySpanExporter
) -> None:
    import subprocess
    import time

    import httpx

    port = free_port()
    script = tmp_path / "web_server.py"
    script.write_text(WEB_SERVER)
    proc = subprocess.Popen([sys.executable, str(script), str(port)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # up once it answers HTTP at all
            try:
                httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        repo, issue = checkout(tmp_path)
        enable(repo, "web")
        declared = McpServer(name="web", url=f"http://127.0.0.1:{port}/mcp", tools=("echo",))
        answer, offered = scripted(
            calls(("web_echo", {"text": "over http"})), calls(("web_shout", {"text": "no"})), text("done")
        )
        opts = options(tmp_path, repo, issue, answer, (declared,))
        with tracing.span("test"):
            run_id = await run_local(opts, [])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    spans = exporter.get_finished_spans()
    (external,) = [s for s in spans if s.name == "tool web_echo"]  # the refused web_shout was never made
    assert external.kind == SpanKind.CLIENT and external.parent is not None
    assert dict(external.attributes or {}) == {"steward.tool": "web_echo", "steward.mcp.server": "web"}
    assert {s.context.trace_id for s in spans} == {external.context.trace_id}  # one trace, the run's
    assert not [s for s in spans if s.name == "tool web_shout"]
    assert offered and all("web_echo" in names and "web_shout" not in names for names in offered)
    trace = await trace_of(opts, run_id)
    tools = [(s["name"], s["refused"]) for s in trace["steps"] if s["kind"] == "tool"]
    assert tools == [("web_echo", False), ("web_shout", True)]
    echo = next(s for s in trace["steps"] if s["name"] == "web_echo")
    assert "web echo: over http" in echo["output"]["excerpt"]
