"""The agent engine's part of a plan, made on the host from the checkout (no model is called)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

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


NOT_CONFIGURED = (
    "this repository asks for the agent engine, but the operator has configured no model: set "
    "STEWARD_MODEL_PROVIDER (openai or anthropic), STEWARD_MODEL_NAME, and STEWARD_MODEL_BASE_URL and "
    "STEWARD_MODEL_API_KEY where the provider needs them, then ask again (or use `engine: builtin`)"
)


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


def agent_plan(model: str | None, policy: Policy, workspace: Path, git_dir: Path | None) -> AgentPlan:
    """What the plan says of the agent: raises AgentNotConfigured when the operator set no model."""
    if not model:
        raise AgentNotConfigured(NOT_CONFIGURED)
    found = memory_file(workspace)
    name, sha = "", ""
    if found is not None:
        name, data = found
        sha = (_indexed_sha(workspace, git_dir, name) if git_dir is not None else None) or blob_sha(data)
    return AgentPlan(
        model=model, tools=list(policy.tools), budget=policy.budget, memory_file=name, memory_sha=sha
    )
