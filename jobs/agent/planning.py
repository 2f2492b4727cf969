"""The agent engine's part of a plan, made on the host from the checkout (no model is called)."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Collection, Sequence
from pathlib import Path

from app.mcp_servers import McpServer
from jobs.plan import AgentPlan
from policies.model import Policy
from sandbox import hostfs
from sandbox.git import host_git

MEMORY_FILES = (".github/steward.md", "AGENTS.md")
"""The repository's instructions for the agent, first found wins."""
MEMORY_BYTES = 64 * 1024
ACTED_ON = (
    "The agent engine acts on these instructions as a request, within the plan's paths, tools and budget; "
    "they cannot widen any of them."
)


class AgentNotConfigured(ValueError):
    """`engine: agent` with no model set by the operator; the message says what to set."""

    reason = "the agent engine has no model"
    """The run's end reason in the ledger, in a few words."""


NOT_CONFIGURED = (
    "this repository asks for the agent engine, but the operator has configured no model: set "
    "STEWARD_MODEL_PROVIDER (openai or anthropic), STEWARD_MODEL_NAME, and STEWARD_MODEL_BASE_URL and "
    "STEWARD_MODEL_API_KEY where the provider needs them, then ask again (or use `engine: builtin`)"
)


class McpServerRefused(AgentNotConfigured):
    """An external MCP server the run would use is not declared, clashes with Steward's tools, or is down."""

    reason = "an MCP server the agent needs is not available"


def enabled_servers(
    names: Sequence[str], declared: Sequence[McpServer], taken: Collection[str] = (), *, workflow: str = ""
) -> list[McpServer]:
    """The declared servers these names enable, in order. Refuses a name the operator did not declare, and a
    server that would offer a tool under the name of one of Steward's (`taken`)."""
    known = {server.name: server for server in declared}
    wanted = list(dict.fromkeys(names))
    unknown = [name for name in wanted if name not in known]
    if unknown:
        there = ", ".join(f"`{name}`" for name in known) or "none"
        where = f"workflows.{workflow or '<name>'}.mcp_servers"
        raise McpServerRefused(
            f"`{where}` names MCP server(s) the operator has not declared: "
            f"{', '.join(f'`{name}`' for name in unknown)} (declared in STEWARD_MCP_SERVERS: {there}); "
            "remove them, or ask the operator to declare them"
        )
    servers = [known[name] for name in wanted]
    clash = [tool for server in servers for tool in server.offered() if tool in taken]
    if clash:
        raise McpServerRefused(
            f"an MCP server would offer `{clash[0]}`, the name of one of Steward's tools; the operator "
            "must rename the server in STEWARD_MCP_SERVERS"
        )
    return servers


def model_label(provider: str | None, name: str | None) -> str | None:
    """`provider:name` of the operator's model, or None when no model is configured."""
    return f"{provider}:{name}" if provider and name else None


def blob_sha(data: bytes) -> str:
    """Git's blob id of these bytes (what `git hash-object` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def memory_file(workspace: Path) -> tuple[str, bytes] | None:
    """The first instructions file present as a regular file (never read through a link), with its bytes."""
    for relative in MEMORY_FILES:
        try:
            return relative, hostfs.read_bytes(workspace, relative, MEMORY_BYTES)
        except (hostfs.UnsafePath, hostfs.TooLarge, FileNotFoundError, OSError):
            continue
    return None


def _indexed_sha(workspace: Path, git_dir: Path, relative: str) -> str | None:
    argv, env = host_git(git_dir, workspace, "ls-files", "-s", "--", relative)
    done = subprocess.run(argv, env=env, capture_output=True, timeout=30, check=False)
    fields = done.stdout.decode(errors="replace").split()
    return fields[1] if done.returncode == 0 and len(fields) >= 2 else None


def agent_plan(
    model: str | None,
    policy: Policy,
    workspace: Path,
    git_dir: Path | None,
    servers: Sequence[McpServer] = (),
) -> AgentPlan:
    """What the plan says of the agent: raises AgentNotConfigured when the operator set no model.

    `servers` are the external MCP servers the repository enabled (jobs.agent.external.enabled_servers).
    """
    if not model:
        raise AgentNotConfigured(NOT_CONFIGURED)
    found = memory_file(workspace)
    name, sha = "", ""
    if found is not None:
        name, data = found
        sha = (_indexed_sha(workspace, git_dir, name) if git_dir is not None else None) or blob_sha(data)
    external = [tool for server in servers for tool in server.offered()]
    return AgentPlan(
        model=model, tools=[*policy.tools, *external], mcp_servers=[server.name for server in servers],
        budget=policy.budget, memory_file=name, memory_sha=sha,
    )  # fmt: skip
