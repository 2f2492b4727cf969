"""Load the shipped policies and narrow them by a repository's configuration, which can never widen them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from app.config.model import Role, WorkflowConfig, WritingWorkflowConfig
from app.config.units import show_limit
from app.github.protocol import permission_rank
from policies.globs import any_match, glob_within_any, normalize_path
from policies.model import ApprovalRule, Policy
from sandbox.diffcheck import size_text
from sandbox.limits import MIN_DISK, Limits

POLICY_DIR = Path(__file__).parent
WORKFLOWS = ("commands", "config", "digest", "docs", "duplicates", "tests")
"""Every policy Steward ships (policies/<name>.yml)."""
MAX_PATH_CHARS = 4096


class PolicyError(Exception):
    """A shipped policy is missing or malformed: a bug in Steward, not in the repository."""


@dataclass(frozen=True)
class NarrowingProblem:
    """A repository setting that would widen a policy; it is ignored (fail closed) and reported."""

    field: str
    message: str


@cache
def load_policy(workflow: str) -> Policy:
    """The policy shipped for a workflow (validated once, then cached)."""
    if workflow not in WORKFLOWS:
        raise PolicyError(f"no policy for workflow {workflow!r}; known: {', '.join(WORKFLOWS)}")
    path = POLICY_DIR / f"{workflow}.yml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Policy.model_validate(data)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise PolicyError(f"policy {path.name} is invalid: {exc}") from exc


def token_permissions(workflow: str) -> dict[str, str]:
    """The `permissions` body of the installation-token request for a workflow."""
    return dict(load_policy(workflow).permissions)


def _limits_asked(policy: Policy, config: WritingWorkflowConfig) -> Limits:
    asked = config.limits.model_dump(exclude_none=True)
    if asked.get("disk", MIN_DISK) < MIN_DISK:  # reported by narrowing_problems; the policy's quota stands
        del asked["disk"]
    return Limits(**{**policy.limits.model_dump(), **asked})


DIFF_LIMITS = ("max_files", "max_lines", "max_file_bytes", "max_bytes")
"""The size limits of a proposal, each of which a repository may lower but never raise."""


def _diff_limits(policy: Policy, config: WritingWorkflowConfig) -> dict[str, int]:
    """The lower of the policy's and the repository's value (a policy's 0 means the built-in default)."""
    narrowed = {}
    for name in DIFF_LIMITS:
        asked, ceiling = getattr(config, name), getattr(policy, name)
        if asked is not None:
            narrowed[name] = min(asked, ceiling) if ceiling else asked
    return narrowed


def _shown(name: str, value: int) -> str:
    return size_text(value) if name.endswith("_bytes") else str(value)


def _higher(a: Role, b: Role) -> Role:
    return a if permission_rank(a) >= permission_rank(b) else b


def effective_policy(policy: Policy, config: WorkflowConfig | None) -> Policy:
    """The policy narrowed by the repository's settings for that workflow; anything wider is dropped."""
    if not isinstance(config, WritingWorkflowConfig):
        return policy
    writable = policy.writable
    if config.paths is not None:
        writable = [glob for glob in config.paths if glob_within_any(glob, policy.writable)]
    approval = ApprovalRule(
        required=policy.approval.required or config.approval.required,
        level=_higher(policy.approval.level, config.approval.level),
    )
    return policy.model_copy(
        update={
            "writable": writable,
            "denied": [*policy.denied, *(g for g in config.deny if g not in policy.denied)],
            "limits": policy.limits.narrowed_by(_limits_asked(policy, config)),
            "approval": approval,
            "budget": policy.budget.narrowed_by(config.budget.model_dump(exclude_none=True)),
            **_diff_limits(policy, config),
        }
    )


def _budget_problems(policy: Policy, config: WritingWorkflowConfig, where: str) -> list[NarrowingProblem]:
    return [
        NarrowingProblem(
            f"{where}.budget.{name}",
            f"{value:g} is above the {policy.workflow} policy's budget of {getattr(policy.budget, name):g}; "
            "a budget may only be lowered",
        )
        for name, value in config.budget.model_dump(exclude_none=True).items()
        if value > getattr(policy.budget, name)
    ]


def narrowing_problems(policy: Policy, config: WorkflowConfig, where: str) -> list[NarrowingProblem]:
    """Every setting under `where` (e.g. workflows.docs) that asks for more than the policy allows."""
    if not isinstance(config, WritingWorkflowConfig):
        return []
    problems = []
    for index, glob in enumerate(config.paths or []):
        if not glob_within_any(glob, policy.writable):
            allowed = ", ".join(f"`{g}`" for g in policy.writable) or "nothing"
            problems.append(
                NarrowingProblem(
                    f"{where}.paths.{index}",
                    f"`{glob}` is outside what the {policy.workflow} policy may write ({allowed}); "
                    "the configuration may only narrow it",
                )
            )
    if permission_rank(config.approval.level) < permission_rank(policy.approval.level):
        problems.append(
            NarrowingProblem(
                f"{where}.approval.level",
                f"approvals for {policy.workflow} need at least `{policy.approval.level}`; "
                f"`{config.approval.level}` would weaken the policy",
            )
        )
    if policy.approval.required and not config.approval.required:
        problems.append(
            NarrowingProblem(
                f"{where}.approval.required", f"the {policy.workflow} policy always requires approval"
            )
        )
    for name in DIFF_LIMITS:
        asked, ceiling = getattr(config, name), getattr(policy, name)
        if asked is not None and ceiling and asked > ceiling:
            problems.append(
                NarrowingProblem(
                    f"{where}.{name}",
                    f"{_shown(name, asked)} is above the {policy.workflow} policy's {_shown(name, ceiling)}; "
                    "it may only be lowered",
                )
            )
    problems.extend(_budget_problems(policy, config, where))
    disk = config.limits.disk
    if disk is not None and disk < MIN_DISK:
        problems.append(
            NarrowingProblem(
                f"{where}.limits.disk",
                f"{show_limit('disk', disk)} is below the smallest workspace quota, "
                f"{show_limit('disk', MIN_DISK)}; a checkout needs room",
            )
        )
    for name, value in config.limits.model_dump(exclude_none=True).items():
        ceiling = getattr(policy.limits, name)
        if value > ceiling:
            problems.append(
                NarrowingProblem(
                    f"{where}.limits.{name}",
                    f"{show_limit(name, value)} is above the {policy.workflow} policy's "
                    f"{show_limit(name, ceiling)}; limits may only be lowered",
                )
            )
    return problems


def path_allowed(policy: Policy, path: str) -> bool:
    """Whether the policy lets a run change this repository path (denied globs win, ignoring case)."""
    clean = normalize_path(path)
    if clean is None or len(clean) > MAX_PATH_CHARS:
        return False
    if any_match(policy.denied, clean, ignore_case=True):
        return False
    return any_match(policy.writable, clean)


def refused_paths(policy: Policy, paths: list[str]) -> list[str]:
    """The paths of a change that the policy does not let it touch."""
    return [path for path in paths if not path_allowed(policy, path)]
