"""The agent engine: pydantic-ai drives the model; the model acts only through Steward's MCP server.

One run: the policy's tools are offered over an in-memory MCP session (and the allowlisted tools of the
external MCP servers the plan names, jobs.agent.external), every model request is metered and
traced (jobs.agent.traced), every tool call is counted before it runs and traced after (refused ones too),
and the whole is bounded by the wall-time budget. The first budget reached raises BudgetExceeded at once;
the lifecycle then keeps nothing the agent wrote.
"""

from __future__ import annotations

from typing import Any

import anyio
from pydantic_ai import Agent
from pydantic_ai.exceptions import UsageLimitExceeded
from pydantic_ai.mcp import MCPToolset
from pydantic_ai.usage import UsageLimits

from app.observability.metrics import OTHER, TOOL_CALLS
from jobs.agent.budget import BudgetExceeded, Meter
from jobs.agent.context import OnCall, ToolCallRecord, ToolContext
from jobs.agent.external import connected
from jobs.agent.planning import enabled_servers
from jobs.agent.prompt import instructions, prompt
from jobs.agent.server import build_server
from jobs.agent.spec import AgentRun, EngineModel
from jobs.agent.task import AgentResult, AgentTask
from jobs.agent.traced import MeteredModel, ModelStep
from jobs.ledger import Ledger
from policies.globs import glob_within_any
from policies.model import Policy

__all__ = ["AgentRun", "EngineModel", "run_agent", "traced_calls"]


def _budget_of(error: BaseException) -> BudgetExceeded | None:
    """The BudgetExceeded inside what pydantic-ai or anyio raised (it may come wrapped in a group, whose
    members' contexts may lead back to the group: each exception is looked at once)."""
    looked: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        seen = pending.pop()
        if seen is None or id(seen) in looked:
            continue
        looked.add(id(seen))
        if isinstance(seen, BudgetExceeded):
            return seen
        pending.append(seen.__cause__ or seen.__context__)
        if isinstance(seen, BaseExceptionGroup):
            pending.extend(reversed(seen.exceptions))  # the group's members first, in order
    return None


def _narrowed(policy: Policy, task: AgentTask) -> Policy:
    if task.writable is None:
        return policy
    inside = [glob for glob in task.writable if glob_within_any(glob, policy.writable)]
    return policy.model_copy(update={"writable": inside})


def traced_calls(ledger: Ledger, run_id: str) -> OnCall:
    """Each tool call (refused ones too) as a `tool` step of the run: arguments, result digest, excerpt."""

    async def on_call(record: ToolCallRecord) -> None:
        await ledger.record_agent_step(
            run_id, "tool", record.name, command=f"tool {record.name}", exit_code=0 if record.ok else 1,
            output=record.result_excerpt, duration=record.duration, refused=record.refused,
            reason=record.reason or None,
            detail={"arguments": record.arguments, "arguments_sha256": record.arguments_sha256,
                    "result_sha256": record.result_sha256},
        )  # fmt: skip

    return on_call


async def run_agent(where: AgentRun, engine: EngineModel, task: AgentTask, meter: Meter) -> AgentResult:
    """Let the model work on the task, spending from the run's meter (one per run, however many tasks);
    returns what it did, or raises BudgetExceeded (the lifecycle then keeps nothing)."""
    ledger, run_id = where.ledger, where.run_id
    spent = (meter.requests, meter.input_tokens, meter.output_tokens, meter.cost, meter.tool_calls)

    offered: list[str] = []  # filled below, once the servers are known
    record_call = traced_calls(ledger, run_id)

    async def on_call(record: ToolCallRecord) -> None:
        outcome = "refused" if record.refused else "ok" if record.ok else "failed"
        TOOL_CALLS.labels(record.name if record.name in offered else OTHER, outcome).inc()
        await record_call(record)

    ctx = ToolContext(
        workspace=where.workspace, git_dir=where.git_dir, policy=_narrowed(where.policy, task), run=where.run,
        on_call=on_call, item=where.item, comments=where.comments, extra=tuple(task.tools),
    )  # fmt: skip
    server = build_server(ctx)
    # The plan named the servers; the operator may have withdrawn one since (refused, not skipped).
    servers = enabled_servers(where.plan.mcp_servers, engine.servers, server.offered, workflow=where.workflow)
    offered.extend(server.offered)

    async def record_model(step: ModelStep) -> None:
        await ledger.record_agent_step(
            run_id, "model", "model", command=f"model {where.plan.model}", output=step.summary,
            duration=step.duration, input_tokens=step.input_tokens, output_tokens=step.output_tokens,
            cost=step.cost, detail={"messages": step.new_messages, "response": step.response},
        )  # fmt: skip
        for call in step.unoffered:
            meter.before_tool_call()
            await server.refuse_unoffered(call[0], call[1], offered=offered)

    async def process_tool_call(_ctx: Any, call_tool: Any, name: str, arguments: dict[str, Any]) -> Any:
        meter.before_tool_call()
        return await call_tool(name, arguments)

    toolset: MCPToolset[None] = MCPToolset(server, process_tool_call=process_tool_call, max_retries=3)
    limits = UsageLimits(request_limit=None, tool_calls_limit=None)
    try:
        with anyio.fail_after(max(where.plan.budget.wall_time - meter.elapsed(), 0.001)):
            async with connected(servers, where.plan.tools, meter, on_call) as external:
                offered.extend(external.offered)
                model = MeteredModel(engine.model, meter, engine.price, record_model, offered=set(offered))
                agent: Agent[None, str] = Agent(
                    model,
                    toolsets=[toolset, *external.toolsets],
                    instructions=instructions(where.workflow, ctx.policy, offered, task.goal),
                )
                result = await agent.run(
                    prompt(where.item, where.comments, where.plan, where.memory), usage_limits=limits
                )
    except TimeoutError:
        raise BudgetExceeded("wall_time", where.plan.budget.wall_time, round(meter.elapsed(), 1)) from None
    except UsageLimitExceeded as exc:  # pydantic-ai's own guard: said in the budget's words
        raise BudgetExceeded("model_requests", where.plan.budget.model_requests, meter.requests) from exc
    except Exception as exc:
        found = _budget_of(exc)
        if found is not None:
            raise found from None
        raise
    return AgentResult(
        text=result.output, requests=meter.requests - spent[0], input_tokens=meter.input_tokens - spent[1],
        output_tokens=meter.output_tokens - spent[2], cost=meter.cost - spent[3],
        tool_calls=meter.tool_calls - spent[4], written=tuple(sorted(ctx.written)),
    )  # fmt: skip
