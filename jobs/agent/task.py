"""What a workflow asks of the agent engine, and what it gets back (all a workflow needs to know of it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jobs.agent.context import AgentTool


@dataclass(frozen=True)
class AgentTask:
    """The workflow's goal in its own words (trusted: Steward wrote it) and the tools it adds."""

    goal: str
    tools: Sequence[AgentTool] = ()
    """The workflow's own tools (offered only where the policy lists their names)."""
    writable: tuple[str, ...] | None = None
    """Narrower writable globs for this task (within the policy's; None: the policy's)."""


@dataclass(frozen=True)
class AgentResult:
    """What the agent did: its last words, what it spent, the files it wrote (workspace-relative)."""

    text: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost: float
    tool_calls: int
    written: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    """Tool calls the policy refused, as `name: why`."""
    extra: dict[str, Any] = field(default_factory=dict)


RunAgent = Callable[[AgentTask], Awaitable[AgentResult]]
"""The agent engine as a workflow's work step sees it: given a task, it works and returns."""
