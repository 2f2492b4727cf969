"""What a run hands the agent engine: where it works and with which model. Light to import: the lifecycle
imports this on every run, and pydantic-ai, mcp and the SDKs only when an agent actually works."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from app.github.protocol import IssueComment
from app.mcp_servers import McpServer
from jobs.agent.budget import Meter
from jobs.plan import AgentPlan
from jobs.runs.workitem import Exec, WorkItem
from policies.model import Policy

if TYPE_CHECKING:
    from pydantic_ai.models import Model

    from jobs.ledger import Ledger

Price = Callable[[int, int], float]
"""The cost of a response from its input and output tokens."""


@dataclass(frozen=True)
class EngineModel:
    """The model a run uses (the operator's, a test's, or a replay of recorded responses) and its price."""

    model: Model
    price: Price
    retries: RetryCounter | None = None
    """Told the run's meter, so that each HTTP retry counts as a model request."""
    close: Callable[[], Awaitable[None]] | None = None
    """Releases the model's HTTP client when the run's work ends."""
    servers: Sequence[McpServer] = ()
    """The operator's external MCP servers (STEWARD_MCP_SERVERS); a run uses those its plan names."""


class RetryCounter(Protocol):
    meter: Meter | None


@dataclass(frozen=True)
class AgentRun:
    """Where the agent works, under what, for which run."""

    ledger: Ledger
    run_id: str
    workflow: str
    workspace: Path
    git_dir: Path | None
    policy: Policy
    plan: AgentPlan
    run: Exec
    item: WorkItem
    comments: Sequence[IssueComment] = ()
    memory: str = ""
    """The repository's instructions file's text (read at planning's blob), shown as data."""
