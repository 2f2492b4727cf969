"""Two ways a tool call does not succeed: Steward refuses it (policy), or it fails (the world)."""

from __future__ import annotations

from mcp.server.mcpserver.exceptions import ToolError

__all__ = ["Refused", "ToolError", "refusal_of"]


class Refused(ToolError):
    """Steward will not do it: a tool not offered, a path outside the policy, a link, a limit. The model
    reads the message; the trace marks the call refused."""


def refusal_of(exc: BaseException) -> Refused | None:
    """The refusal behind an error (the MCP server wraps what a tool raises in a ToolError of its own)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, Refused):
            return seen
        seen = seen.__cause__
    return None
