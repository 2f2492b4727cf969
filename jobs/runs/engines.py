"""Which engine a run uses, in its plan and in its work phase: the built-in one, or the agent.

The repository's config chooses per workflow (`workflows.<name>.engine`), a local run may override it with
`--engine`; the agent needs the operator's model, so a plan for it without one is refused in words that say
what to set, as is one enabling an external MCP server the operator did not declare.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.config.model import WorkflowConfig, WritingWorkflowConfig
from app.github.protocol import IssueRecord
from app.mcp_servers import McpServer
from jobs.agent.planning import (
    ACTED_ON,
    MEMORY_BYTES,
    NOT_CONFIGURED,
    AgentNotConfigured,
    agent_plan,
    enabled_servers,
)
from jobs.plan import Plan, PlanStep
from jobs.runs.workflow import Outcome
from policies.model import Policy
from sandbox import hostfs

AGENT_STEP = "agent"
"""The plan step of the agent's work; unticking it runs the built-in steps alone."""


@dataclass(frozen=True)
class EngineChoice:
    """The engine asked for and the operator's model (`provider:name`, None when none is configured)."""

    asked: str | None = None
    """`builtin` or `agent` from the terminal; None: the repository's config decides."""
    model: str | None = None
    servers: Sequence[McpServer] = ()
    """The operator's external MCP servers (STEWARD_MCP_SERVERS), which the repository's config may enable."""


def engine_of(section: WorkflowConfig, choice: EngineChoice) -> str:
    if choice.asked is not None:
        return choice.asked
    return section.engine if isinstance(section, WritingWorkflowConfig) else "builtin"


def with_engine(
    plan: Plan,
    section: WorkflowConfig,
    policy: Policy,
    choice: EngineChoice,
    workspace: Path,
    git_dir: Path | None,
    issue: IssueRecord,
) -> Plan:
    """The plan with its engine said; raises AgentNotConfigured for the agent without a model, or enabling an
    MCP server the operator did not declare."""
    if engine_of(section, choice) != "agent":
        return plan
    names = section.mcp_servers if isinstance(section, WritingWorkflowConfig) else []
    if not choice.model:
        raise AgentNotConfigured(NOT_CONFIGURED)
    servers = enabled_servers(names, choice.servers, policy.tools, workflow=plan.workflow)
    agent = agent_plan(choice.model, policy, workspace, git_dir, servers)
    agent = agent.model_copy(update={"item": dataclasses.asdict(issue)})
    note = ACTED_ON if plan.instructions.strip() else ""
    step = PlanStep(
        id=AGENT_STEP, title="The agent works on the task through Steward's tools", detail=agent.model
    )
    return plan.model_copy(
        update={"engine": "agent", "agent": agent, "instructions_note": note, "steps": [step, *plan.steps]}
    )


def agent_wanted(plan: Plan) -> bool:
    """Whether the agent works in this run: an agent plan whose agent step is still ticked."""
    return plan.agent is not None and any(step.id == AGENT_STEP for step in plan.kept())


def agent_section(outcome: Outcome) -> str:
    """The PR body's account of the agent: requests, tokens, cost, tool calls (empty when it did not run)."""
    done = outcome.agent
    if done is None:
        return ""
    refused = f" ({len(done.refused)} refused)" if done.refused else ""
    return (
        "\n\n### Agent\n\n"
        f"{done.requests} model request(s) · {done.input_tokens} input and {done.output_tokens} output "
        f"tokens · cost {done.cost:.4f} · {done.tool_calls} tool call(s){refused}.\n"
    )


def recorded_issue(plan: Plan, number: int) -> IssueRecord:
    """The issue an agent plan recorded (a bare one, by number, for a plan that recorded none)."""
    fields = {f.name for f in dataclasses.fields(IssueRecord)}
    known = {key: value for key, value in (plan.agent.item if plan.agent else {}).items() if key in fields}
    try:
        return IssueRecord(**known)
    except TypeError:
        return IssueRecord(number, "", "", "open", False, "")


def memory_text(workspace: Path, plan: Plan) -> str:
    """The instructions file the plan named, as the work tree has it (empty when absent or unreadable)."""
    if plan.agent is None or not plan.agent.memory_file:
        return ""
    try:
        data = hostfs.read_bytes(workspace, plan.agent.memory_file, MEMORY_BYTES)
    except (hostfs.UnsafePath, OSError):
        return ""
    return data.decode("utf-8", errors="replace")
