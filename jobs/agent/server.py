"""Steward's MCP server: exactly the policy's tools, every call (refused ones too) told to `on_call`."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp.types import INTERNAL_ERROR, CallToolResult, InputRequiredResult, TextContent
from starlette.applications import Starlette

from app.observability import tracing
from jobs.agent.context import AgentTool, ToolCallRecord, ToolContext
from jobs.agent.data import DATA_RULE, cut, digest
from jobs.agent.errors import Refused, ToolError, refusal_of
from jobs.agent.tools import BUILTIN

NAME = "steward"
INSTRUCTIONS = (
    "Steward's tools over one repository checkout and its sandbox. Only the files the workflow may change "
    "can be written; nothing here writes to GitHub. " + DATA_RULE
)
EXCERPT_CHARS = 2000
"""Of each result, kept in the trace (the digest covers all of it)."""
ARGUMENT_CHARS = 2000
"""Of each string argument, kept in the trace."""


class ToolsUnavailable(ValueError):
    """The policy lists a tool nobody supplied (a workflow's tool not passed in): a wiring mistake."""


@contextlib.contextmanager
def _no_root_logging_setup() -> Iterator[None]:
    # MCPServer() calls logging.basicConfig (a rich handler at INFO on the root logger) when the root has no
    # handler yet; Steward's logging is its own, so the call is made to find one and do nothing.
    root = logging.getLogger()
    placeholder = logging.NullHandler()
    added = not root.handlers
    if added:
        root.addHandler(placeholder)
    try:
        yield
    finally:
        if added:
            root.removeHandler(placeholder)


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _bounded(arguments: dict[str, Any]) -> dict[str, Any]:
    """Each argument as given, or when long (a string, or a list as JSON) its start and end."""
    bounded: dict[str, Any] = {}
    for key, value in arguments.items():
        if isinstance(value, str):
            bounded[key] = cut(value, ARGUMENT_CHARS)
        else:
            text = _canonical(value)
            bounded[key] = value if len(text) <= ARGUMENT_CHARS else cut(text, ARGUMENT_CHARS)
    return bounded


def _text(result: CallToolResult | InputRequiredResult) -> str:
    if not isinstance(result, CallToolResult):
        return ""
    return "\n".join(part.text for part in result.content if isinstance(part, TextContent))


def tool_record(
    name: str, arguments: dict[str, Any], started: float, shown: str, *, reason: str, refused: bool = False
) -> ToolCallRecord:
    """One call as the trace keeps it: `shown` is the text the model is given, `reason` (empty when ok) why
    it failed; `started` is when it began (time.monotonic)."""
    return ToolCallRecord(
        name=name,
        arguments=_bounded(arguments),
        arguments_sha256=digest(_canonical(arguments)),
        ok=not reason,
        refused=refused,
        reason=cut(reason, EXCERPT_CHARS),
        result_sha256=digest(shown),
        result_excerpt=cut(shown, EXCERPT_CHARS),
        duration=time.monotonic() - started,
    )


class StewardServer(MCPServer[Any]):
    """An MCP server whose every tool call goes through `call_tool`, one at a time, and is recorded."""

    def __init__(self, ctx: ToolContext, tools: Sequence[AgentTool]) -> None:
        with _no_root_logging_setup():
            super().__init__(NAME, instructions=INSTRUCTIONS, warn_on_duplicate_tools=False)
        self.ctx = ctx
        self.offered = tuple(tool.name for tool in tools)
        # One call at a time: the host touches the workspace only while no sandbox command runs.
        self._turn = anyio.Lock()
        for tool in tools:
            self.add_tool(
                tool.make(ctx), name=tool.name, description=tool.description, structured_output=False
            )

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        async with self._turn:
            started = time.monotonic()
            if name not in self.offered:
                raise await self.refuse_unoffered(name, arguments, started)
            # A child of the run's span; the sandbox commands the tool runs are children of this one.
            with tracing.span(f"tool {name}", {"steward.tool": name}) as span:
                try:
                    result = await super().call_tool(name, arguments, context)
                except ToolError as exc:  # what the model reads is this error's text
                    found = refusal_of(exc)
                    reason = str(found or exc)
                    tracing.set_attributes(span, {"steward.tool.refused": found is not None})
                    await self._record(
                        name, arguments, started, str(exc), reason=reason, refused=found is not None
                    )
                    raise
                shown = _text(result)
                failed = isinstance(result, CallToolResult) and result.is_error
                tracing.set_attributes(span, {"steward.tool.failed": failed})
                await self._record(name, arguments, started, shown, reason=shown if failed else "")
                return result

    async def refuse_unoffered(
        self,
        name: str,
        arguments: dict[str, Any],
        started: float | None = None,
        *,
        offered: Sequence[str] | None = None,
    ) -> Refused:
        """Record a call to a tool this run does not offer as refused; the refusal says what is offered
        (`offered`, when the run offers more than this server's tools).

        A client may refuse such a call itself without sending it (pydantic-ai answers the model "Unknown
        tool name"): the engine calls this for each one, so the trace still holds it.
        """
        names = ", ".join(self.offered if offered is None else offered) or "none"
        refusal = Refused(f"`{name}` is not a tool this run offers (offered: {names})")
        began = time.monotonic() if started is None else started
        await self._record(name, arguments, began, str(refusal), reason=str(refusal), refused=True)
        return refusal

    async def _record(
        self,
        name: str,
        arguments: dict[str, Any],
        started: float,
        shown: str,
        *,
        reason: str,
        refused: bool = False,
    ) -> None:
        """Tell on_call; `shown` is the text the model is given, `reason` (empty when ok) why it failed."""
        record = tool_record(name, arguments, started, shown, reason=reason, refused=refused)
        try:
            await self.ctx.on_call(record)
        except Exception as exc:
            # A call the trace cannot hold is not let through: a protocol error ends the model's turn.
            raise MCPError(
                INTERNAL_ERROR, f"the tool call could not be recorded ({type(exc).__name__})"
            ) from exc


def offered_tools(ctx: ToolContext) -> list[AgentTool]:
    """The tools the policy lists, in its order, from Steward's own and the workflow's."""
    known: dict[str, AgentTool] = {tool.name: tool for tool in BUILTIN}
    for tool in ctx.extra:
        if tool.name in known:
            raise ValueError(f"the workflow's tool {tool.name!r} takes the name of another tool")
        known[tool.name] = tool
    missing = [name for name in ctx.policy.tools if name not in known]
    if missing:
        raise ToolsUnavailable(
            f"the {ctx.policy.workflow} policy lists tools nobody supplied: {', '.join(missing)}"
        )
    return [known[name] for name in dict.fromkeys(ctx.policy.tools)]


def build_server(ctx: ToolContext) -> StewardServer:
    """Steward's server for one run: the policy's tools and no other (a call to another is refused)."""
    return StewardServer(ctx, offered_tools(ctx))


def http_app(server: MCPServer[Any], path: str = "/mcp") -> Starlette:
    """The server over streamable HTTP, for loopback only (other Host or Origin headers are refused)."""
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*"],
    )
    return server.streamable_http_app(
        streamable_http_path=path, stateless_http=True, json_response=True, transport_security=security
    )
