"""What a configuration lets happen, as rows a person can compare: who may run each command, what each
workflow may do (after the policy narrows it), the noise limits and the weekly digest. `diff` compares two
configurations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.config.model import RepoConfig, WorkflowConfig, WritingWorkflowConfig
from app.config.units import show_bytes, show_seconds
from sandbox.diffcheck import ALWAYS_DENIED

Rows = dict[str, str]
"""Setting -> what it amounts to, e.g. `commands.docs` -> `maintain and above`."""

_POLICY_FIELDS = {"paths", "deny", "approval", "limits", "budget", *("max_files", "max_lines")}
_POLICY_FIELDS |= {"max_file_bytes", "max_bytes"}
"""Workflow settings shown through the effective policy rather than as written."""


@dataclass(frozen=True)
class Change:
    """One row that differs between the base and the head configuration."""

    key: str
    before: str
    after: str
    note: str = ""

    def line(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"{self.key}: {self.before} -> {self.after}{note}"


def _reach(shown: str) -> int:
    """How many people a command row lets in, as a rank (higher: fewer people); `off` lets nobody in."""
    from app.github.protocol import permission_rank

    if shown == "off":
        return 99
    return 0 if shown == "anyone" else permission_rank(shown.removesuffix(" and above"))


def _note(key: str, before: str, after: str) -> str:
    if not key.startswith("commands."):
        return ""
    was, now = _reach(before), _reach(after)
    return "more people may run it" if now < was else "fewer people may run it" if now > was else ""


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) if value else "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) if value else "(none)"
    return "(unset)" if value is None else str(value)


def _amount(name: str, value: float) -> str:
    """A limit or budget in the unit a person reads it in (sizes in bytes, durations in seconds)."""
    if name in ("memory", "disk") or name.endswith("_bytes"):
        return show_bytes(int(value))
    if name.endswith("timeout") or name == "wall_time":
        return show_seconds(float(value))
    return f"{value:g}"


def _who(role: str) -> str:
    return "anyone" if role == "none" else f"{role} and above"


def command_rows(config: RepoConfig) -> Rows:
    """Who may run each command here, or `off`."""
    from app.commands.registry import REGISTRY, allowed_here, effective_permission

    rows = {}
    for spec in REGISTRY.specs():
        key = f"commands.{spec.name}"
        rows[key] = _who(effective_permission(spec, config)) if allowed_here(spec, config) else "off"
    return rows


def _policy_rows(where: str, workflow: str, config: WritingWorkflowConfig) -> Rows:
    from policies.loader import effective_policy, load_policy

    policy = effective_policy(load_policy(workflow), config)
    approval = policy.approval
    rows = {
        f"{where}.paths": _shown(policy.writable),
        f"{where}.deny": _shown([glob for glob in policy.denied if glob not in ALWAYS_DENIED]),
        f"{where}.approval": (f"required, by {_who(approval.level)}" if approval.required else "not required")
        + ("; the requester may approve" if config.approval.allow_self else ""),
    }
    for name, value in policy.limits.model_dump().items():
        rows[f"{where}.limits.{name}"] = _amount(name, value)
    for name, value in policy.budget.model_dump().items():
        rows[f"{where}.budget.{name}"] = _amount(name, value)
    for name in ("max_files", "max_lines", "max_file_bytes", "max_bytes"):
        value = getattr(policy, name)
        rows[f"{where}.{name}"] = _amount(name, value) if value else "(built-in)"
    return rows


def workflow_rows(config: RepoConfig) -> Rows:
    """Each workflow's settings as they take effect: enabled, engine, paths, limits, budget, approval..."""
    rows: Rows = {}
    for workflow in type(config.workflows).model_fields:
        settings: WorkflowConfig = getattr(config.workflows, workflow)
        where = f"workflows.{workflow}"
        writing = isinstance(settings, WritingWorkflowConfig)
        for name in type(settings).model_fields:
            if writing and name in _POLICY_FIELDS:
                continue
            rows[f"{where}.{name}"] = _shown(getattr(settings, name))
        if isinstance(settings, WritingWorkflowConfig):
            rows.update(_policy_rows(where, workflow, settings))
    return rows


def other_rows(config: RepoConfig) -> Rows:
    """The prefix, bot handling, the setup phase and the noise limits."""
    rows = {
        "prefix": config.prefix,
        "ignore_bots": _shown(config.ignore_bots),
        "allowed_bots": _shown(config.allowed_bots),
        "setup.install": _shown(config.setup.install),
        "setup.image": _shown(config.setup.image),
    }
    for name, value in config.noise.model_dump().items():
        rows[f"noise.{name}"] = str(value)
    rows["digest"] = _digest(config)
    return rows


def _digest(config: RepoConfig) -> str:
    """When the weekly review is published, and where."""
    digest = config.digest
    if not digest.enabled:
        return "off"
    where = f"Discussion in {digest.discussion!r}" if digest.discussion else "issue"
    return f"{digest.day} {digest.hour:02d}:00 {digest.timezone}, {where}"


def simulate(config: RepoConfig) -> Rows:
    """Every row of what this configuration lets happen, in a stable order."""
    return {**command_rows(config), **workflow_rows(config), **other_rows(config)}


def diff(base: RepoConfig, head: RepoConfig) -> list[Change]:
    """The rows that differ, in the order `simulate` gives them."""
    before, after = simulate(base), simulate(head)
    keys = [*before, *(key for key in after if key not in before)]
    return [
        Change(key, old, new, _note(key, old, new))
        for key in keys
        for old, new in [(before.get(key, "(absent)"), after.get(key, "(absent)"))]
        if before.get(key) != after.get(key)
    ]
