"""STEWARD_MCP_SERVERS: the external MCP servers an operator declares, and how their list is checked."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.config.types import MCP_SERVER_PATTERN, PATTERN_WORDS

MCP_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
OFFERED_NAME_CHARS = 64
"""The longest tool name model APIs accept; an external tool is offered as `<server>_<tool>`."""
MCP_SERVERS_SHAPE = '{"name": ..., "command": [argv...] or "url": "http://...", "tools": [...]}'


class McpServer(BaseModel):
    """An external MCP server the operator declares; a repository enables it by name, and the agent engine
    then offers the allowlisted tools, and only those, as `<server>_<tool>`."""

    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")

    name: str = Field(pattern=MCP_SERVER_PATTERN)
    """1 to 32 lowercase letters, digits, `_` or `-`; what `workflows.<name>.mcp_servers` lists."""
    command: tuple[str, ...] | None = None
    """The argv of a server spoken to over stdio, run on the host with a minimal environment."""
    url: str | None = None
    """The streamable HTTP endpoint of a server already running (sent no credentials)."""
    tools: tuple[str, ...] = Field(min_length=1)
    """The server's tools the agent may be offered; any other it has is never offered."""

    @field_validator("command")
    @classmethod
    def _argv(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and (not value or any(not arg or "\0" in arg for arg in value)):
            raise ValueError('expected a non-empty argv list of non-empty strings, e.g. ["uvx", "server"]')
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http:// or https:// URL, e.g. http://127.0.0.1:9000/mcp/")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not carry credentials")
        return value

    @field_validator("tools")
    @classmethod
    def _tool_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [tool for tool in value if not MCP_TOOL_NAME.fullmatch(tool)]
        if bad:
            raise ValueError(f"tool names are letters, digits, `_` and `-` (at most 64): not {bad[0]!r}")
        if len(set(value)) != len(value):
            raise ValueError("a tool is listed twice")
        return value

    @model_validator(mode="after")
    def _one_transport(self) -> McpServer:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of `command` (an argv list) and `url`")
        long = [name for name in self.offered() if len(name) > OFFERED_NAME_CHARS]
        if long:
            raise ValueError(f"`{long[0]}` is longer than {OFFERED_NAME_CHARS} characters; shorten the name")
        return self

    def offered(self) -> list[str]:
        """The allowlisted tools as the model sees them: `<server>_<tool>`."""
        return [f"{self.name}_{tool}" for tool in self.tools]


def _errors(exc: ValidationError) -> str:
    found = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"])
        words = PATTERN_WORDS.get(str((err.get("ctx") or {}).get("pattern")))
        msg = f"expected {words}" if words else str(err["msg"]).removeprefix("Value error, ")
        found.append(f"{where}: {msg}" if where else msg)
    return "; ".join(found)


def parse_mcp_servers(value: Any) -> list[McpServer]:
    """STEWARD_MCP_SERVERS as servers; a ValueError names the entry that is wrong and how."""
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"not JSON; expected a list of {MCP_SERVERS_SHAPE}") from None
    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a JSON list of {MCP_SERVERS_SHAPE}")
    servers: list[McpServer] = []
    for index, entry in enumerate(value, 1):
        if isinstance(entry, McpServer):
            servers.append(entry)
            continue
        name = entry.get("name") if isinstance(entry, dict) else None
        label = f"server #{index}" + (f" ({name!r})" if isinstance(name, str) else "")
        try:
            servers.append(McpServer.model_validate(entry))
        except ValidationError as exc:
            raise ValueError(f"{label}: {_errors(exc)}") from None
    names = [server.name for server in servers]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"two servers are named {twice[0]!r}")
    offered = [name for server in servers for name in server.offered()]
    clash = sorted({name for name in offered if offered.count(name) > 1})
    if clash:
        raise ValueError(f"two servers would offer a tool named `{clash[0]}`")
    return servers
