"""Checks a schema cannot express: settings that would widen a workflow's policy or open a command too far."""

from __future__ import annotations

from app.commands.registry import REGISTRY
from app.config.model import RepoConfig, WorkflowConfig
from app.github.protocol import permission_rank
from policies.loader import load_policy, narrowing_problems


def _workflow(config: RepoConfig, name: str) -> WorkflowConfig:
    workflow: WorkflowConfig = getattr(config.workflows, name)
    return workflow


def semantic_problems(config: RepoConfig) -> list[tuple[str, str]]:
    """(dotted field, message) for each setting that asks for more than Steward allows."""
    problems: list[tuple[str, str]] = []
    for name in type(config.workflows).model_fields:
        found = narrowing_problems(load_policy(name), _workflow(config, name), f"workflows.{name}")
        problems.extend((p.field, p.message) for p in found)
    for spec in REGISTRY.specs():
        asked = config.commands.get(spec.name).permission
        if asked is not None and permission_rank(asked) < permission_rank(spec.floor):
            problems.append(
                (
                    f"commands.{spec.name}.permission",
                    f"`{spec.name}` starts work that writes, so it needs at least `{spec.floor}`, "
                    f"not `{asked}`",
                )
            )
    return problems
