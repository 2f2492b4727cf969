"""An approval is bound to the exact plan it approved: its steps and ticks, paths, limits, budget, engine and
model, token permissions and base commit. The approval records the digest of those terms; before the work
starts they are derived again from the configuration and the plan comment as they stand, and any difference
means the approval no longer counts (the run is planned again and asks again, with the difference shown)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from app.config.model import WorkflowConfig, WritingWorkflowConfig
from jobs.plan import Plan
from policies.model import Policy

MAX_SHOWN = 20
"""Differences listed in the comment; the rest are counted."""


def terms(plan: Plan) -> dict[str, Any]:
    """What an approval approves, as plain data (results, notes and the issue snapshot left out)."""
    data = plan.model_dump(
        mode="json",
        include={
            "workflow", "number", "base_sha", "paths", "denied_paths", "limits", "permissions",
            "approval_required", "approval_level", "approval_allow_self", "engine", "instructions",
        },
    )  # fmt: skip
    data["steps"] = [
        {"id": s.id, "title": s.title, "detail": s.detail, "ticked": s.ticked} for s in plan.steps
    ]
    data["setup"] = (
        {"command": plan.setup.command, "hosts": sorted(plan.setup.hosts)} if plan.setup is not None else None
    )
    agent = plan.agent
    data["agent"] = (
        {
            "model": agent.model,
            "mcp_servers": sorted(agent.mcp_servers),
            "budget": agent.budget.model_dump(mode="json"),
        }
        if agent is not None
        else None
    )
    return data


def digest(plan: Plan) -> str:
    """sha256 of the plan's terms, in a canonical JSON form."""
    text = json.dumps(terms(plan), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def as_it_stands(
    plan: Plan, policy: Policy, section: WorkflowConfig, model: str | None, ticked: set[str] | None
) -> Plan:
    """The approved plan with every term that comes from outside it taken again from now: the effective
    policy (paths, limits, permissions, approval), the workflow's engine, the operator's model and the
    agent's budget, and the boxes ticked in the plan comment (`ticked` None: the comment is gone)."""
    writing = section if isinstance(section, WritingWorkflowConfig) else None
    update: dict[str, Any] = {
        "paths": list(policy.writable),
        "denied_paths": list(policy.denied),
        "limits": policy.limits,
        "permissions": dict(policy.permissions),
        "approval_required": policy.approval.required,
        "approval_level": policy.approval.level,
        "approval_allow_self": writing.approval.allow_self if writing else plan.approval_allow_self,
        "engine": writing.engine if writing else plan.engine,
    }
    if ticked is not None:
        update["steps"] = [step.model_copy(update={"ticked": step.id in ticked}) for step in plan.steps]
    if plan.agent is not None:
        servers = list(writing.mcp_servers) if writing else plan.agent.mcp_servers
        agent = {"model": model or "", "budget": policy.budget, "mcp_servers": servers}
        update["agent"] = plan.agent.model_copy(update=agent)
    return plan.model_copy(update=update)


def _flat(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key, inner in value.items():
            out.update(_flat(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) and "id" in v for v in value):
        return _flat({str(v["id"]): {k: x for k, x in v.items() if k != "id"} for v in value}, prefix)
    return {prefix: json.dumps(value, sort_keys=True)}


def differences(before: Plan, after: Plan) -> list[str]:
    """Each term that differs, as `field: before -> after`."""
    old, new = _flat(terms(before)), _flat(terms(after))
    keys = [*old, *(key for key in new if key not in old)]
    changed = [
        f"{k}: {old.get(k, '(none)')} -> {new.get(k, '(none)')}" for k in keys if old.get(k) != new.get(k)
    ]
    if len(changed) > MAX_SHOWN:
        changed = [*changed[:MAX_SHOWN], f"… and {len(changed) - MAX_SHOWN} more"]
    return changed
