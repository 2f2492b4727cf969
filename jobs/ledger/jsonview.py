"""`steward runs show ID --json`: the run and its steps as one JSON object, for scripts and dashboards.

Each step has `kind` (`model` and `tool` for the agent's, else the step's own name: clone, setup, exec, ...),
`name`, `refused`, `tokens` and `cost`; `totals` sums them for the run.
"""

from __future__ import annotations

from typing import Any

from jobs.ledger.views import RunTrace, StepView


def step_json(step: StepView) -> dict[str, Any]:
    return {
        "seq": step.seq,
        "kind": step.step_kind,
        "name": step.name,
        "command": step.command,
        "exit_code": step.exit_code,
        "duration": step.duration,
        "cpu_seconds": step.cpu_seconds,
        "refused": step.refused,
        "reason": step.kill_reason,
        "tokens": {"input": step.input_tokens, "output": step.output_tokens},
        "cost": step.cost,
        "output": {"bytes": step.output_bytes, "sha256": step.output_digest, "excerpt": step.output_excerpt},
        "detail": step.detail,
        "started_at": step.started_at.isoformat(),
        "ended_at": step.ended_at.isoformat() if step.ended_at else None,
    }


def totals(trace: RunTrace) -> dict[str, Any]:
    model = [step for step in trace.steps if step.step_kind == "model"]
    tools = [step for step in trace.steps if step.step_kind == "tool"]
    return {
        "model_requests": len(model),
        "input_tokens": sum(step.input_tokens for step in model),
        "output_tokens": sum(step.output_tokens for step in model),
        "cost": round(sum(step.cost for step in trace.steps), 6),
        "tool_calls": len(tools),
        "tool_calls_refused": sum(1 for step in tools if step.refused),
        "cpu_seconds": trace.run.cpu_seconds,
        "wall_seconds": trace.run.wall_seconds,
    }


def trace_json(trace: RunTrace) -> dict[str, Any]:
    run = trace.run
    return {
        "id": run.id,
        "repo": run.repo,
        "number": run.number,
        "workflow": run.workflow,
        "state": run.state.value,
        "engine": run.plan.engine if run.plan is not None else run.engine,
        "base_sha": run.base_sha,
        "branch": run.branch,
        "pr_url": run.pr_url,
        "actor": run.actor,
        "actor_role": run.actor_role,
        "event": run.event,
        "created_at": run.created_at.isoformat(),
        "plan": run.plan.model_dump(mode="json") if run.plan is not None else None,
        "transitions": [
            {
                "from": t.from_state.value if t.from_state else None,
                "to": t.to_state.value,
                "actor": t.actor,
                "reason": t.reason,
                "at": t.at.isoformat(),
            }
            for t in trace.transitions
        ],
        "steps": [step_json(step) for step in trace.steps],
        "totals": totals(trace),
    }
