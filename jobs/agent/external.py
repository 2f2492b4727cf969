"""External MCP servers (STEWARD_MCP_SERVERS) as the agent engine offers them.

The operator declares each server (a command spoken to over stdio, or a URL) with the tools it allows; a
repository enables servers by name (`workflows.<name>.mcp_servers`). Only the allowlisted tools are offered,
as `<server>_<tool>`. Every call spends from the run's meter before it is made and is traced as a `tool` step
like Steward's own (and, with tracing on, a client span of the run's trace); what it returns reaches the
model as a labelled data block.

A server never receives Steward's tokens. A command runs on the host (outside the sandbox, as Steward's
user) in an empty directory, with PATH and HOME for its environment (the mcp client adds LOGNAME, SHELL, TERM
and USER where set): no STEWARD_* variable, no installation token, no model key. A URL gets no credentials.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastmcp.client.transports import ClientTransport, StdioTransport, StreamableHttpTransport
from pydantic_ai import RunContext
from pydantic_ai.exceptions import ModelRetry
from pydantic_ai.mcp import CallToolFunc, MCPToolset, ProcessToolCallback
from pydantic_ai.tools import ToolDefinition
from pydantic_ai.toolsets import AbstractToolset

from app.mcp_servers import McpServer
from app.observability import tracing
from jobs.agent.budget import Meter
from jobs.agent.context import OnCall
from jobs.agent.data import as_data, cut, one_line
from jobs.agent.planning import McpServerRefused
from jobs.agent.server import tool_record

INIT_SECONDS = 30.0
"""How long a server has to start and answer the handshake."""
RESULT_CHARS = 64 * 1024
"""Of one result, what the model is given (the rest is said to be cut)."""
PASSED_ENV = ("PATH", "HOME")
"""The only variables of Steward's environment a command server is given."""


@dataclass(frozen=True)
class External:
    """The connected servers: their toolsets for the agent, and the names the model is offered."""

    toolsets: list[AbstractToolset[None]]
    offered: list[str]


def server_env() -> dict[str, str]:
    """A command server's whole environment (beyond what the mcp client adds): PATH and HOME."""
    return {name: os.environ[name] for name in PASSED_ENV if name in os.environ}


def _transport(server: McpServer, cwd: Path) -> ClientTransport:
    if server.command is not None:
        command, *args = server.command
        return StdioTransport(command, args, env=server_env(), cwd=str(cwd), keep_alive=False)
    assert server.url is not None  # McpServer holds exactly one of them
    return StreamableHttpTransport(server.url)


def _text(result: Any) -> str:
    if isinstance(result, str):
        return result
    return json.dumps(result, sort_keys=True, ensure_ascii=False, default=str)


def metered_calls(
    server: str, allowed: Collection[str], meter: Meter, on_call: OnCall
) -> ProcessToolCallback:
    """Each call metered first, then made, then told to on_call (failed and refused ones too)."""

    async def call(
        _ctx: RunContext[Any], call_tool: CallToolFunc, name: str, arguments: dict[str, Any]
    ) -> Any:
        meter.before_tool_call()
        started = time.monotonic()
        offered = f"{server}_{name}"
        if name not in allowed:  # not offered, so not expected here: refused all the same
            refusal = f"`{offered}` is not a tool this run offers"
            await on_call(tool_record(offered, arguments, started, refusal, reason=refusal, refused=True))
            raise ModelRetry(refusal)
        # A child of the run's span, like Steward's own tools: the server and tool names, never the arguments.
        where = {"steward.tool": offered, "steward.mcp.server": server}
        try:
            with tracing.span(f"tool {offered}", where, kind="client"):
                result = await call_tool(name, arguments)
        except Exception as exc:  # a tool error reaches the model as a retry; anything else ends the run
            why = str(exc) or type(exc).__name__
            await on_call(tool_record(offered, arguments, started, why, reason=why))
            raise
        text = _text(result)
        note = f" (cut: it has {len(text)} characters)" if len(text) > RESULT_CHARS else ""
        shown = as_data(f"result of {offered}", cut(text, RESULT_CHARS)) + note
        await on_call(tool_record(offered, arguments, started, shown, reason=""))
        return shown

    return call


def _only(tools: Collection[str]) -> Callable[[RunContext[None], ToolDefinition], bool]:
    def keep(_ctx: RunContext[None], tool: ToolDefinition) -> bool:
        return tool.name in tools

    return keep


@contextlib.asynccontextmanager
async def connected(
    servers: Sequence[McpServer], allowed: Collection[str], meter: Meter, on_call: OnCall
) -> AsyncIterator[External]:
    """The servers started (or reached) and listed: each offers its tools that are both in the operator's
    allowlist and in `allowed` (the plan's tools), and that it has. A server that cannot be reached refuses
    the run (McpServerRefused); every command server is stopped when the block ends."""
    if not servers:
        yield External([], [])
        return
    async with contextlib.AsyncExitStack() as stack:
        cwd = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="steward-mcp-")))
        toolsets: list[AbstractToolset[None]] = []
        offered: list[str] = []
        for server in servers:
            wanted = [tool for tool in server.tools if f"{server.name}_{tool}" in allowed]
            toolset: MCPToolset[None] = MCPToolset(
                _transport(server, cwd), id=f"mcp-{server.name}", max_retries=3, init_timeout=INIT_SECONDS,
                process_tool_call=metered_calls(server.name, wanted, meter, on_call),
            )  # fmt: skip
            try:
                await stack.enter_async_context(toolset)
                listed = {tool.name for tool in await toolset.list_tools()}
            except Exception as exc:
                why = one_line(str(exc) or type(exc).__name__, 300)
                raise McpServerRefused(
                    f"the MCP server `{server.name}` could not be reached: {why}"
                ) from None
            names = [tool for tool in wanted if tool in listed]
            toolsets.append(toolset.filtered(_only(names)).prefixed(server.name))
            offered.extend(f"{server.name}_{tool}" for tool in names)
        yield External(toolsets, offered)
