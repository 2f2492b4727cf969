"""Plain, detached snapshots of ledger records, safe to hand across sessions, tasks and processes."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from jobs.ledger.states import RunState
from jobs.plan import Plan


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """SQLite hands datetimes back naive; everything the ledger stores is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class ApprovalDecision(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"


def _snapshot(row: object, names: list[str]) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in names}
    for name, value in values.items():
        if isinstance(value, datetime):
            values[name] = aware(value)
    return values


@dataclass(frozen=True)
class RunView:
    """One run as recorded now."""

    id: str
    repo: str
    number: int
    workflow: str
    state: RunState
    engine: str
    actor: str
    event: str
    delivery_id: str | None
    idempotency_key: str | None
    installation_id: int | None
    retry_of: str | None
    revision_of: str | None
    config_digest: str | None
    policy: dict[str, Any]
    limits: dict[str, Any]
    sandbox_image: str | None
    sandbox_digest: str | None
    base_sha: str | None
    branch: str | None
    pr_number: int | None
    pr_url: str | None
    instructions: str
    paths: list[str]
    plan: Plan | None
    plan_comment_id: int | None
    tool_calls: int
    model_tokens: int
    cost_usd: float
    cpu_seconds: float
    wall_seconds: float
    created_at: datetime
    updated_at: datetime
    actor_role: str = ""
    """The requester's role (jobs/ledger/roles.py says the names that are not GitHub's)."""
    mode: str = "normal"
    """`shadow`: the run acts on nothing; what it would have done is in the shadow records."""

    @classmethod
    def of(cls, row: object) -> RunView:
        values = _snapshot(row, [f.name for f in fields(cls)])
        values["state"] = RunState(values["state"])
        values["plan"] = Plan.model_validate(values["plan"]) if values["plan"] else None
        return cls(**values)

    def age(self, now: datetime | None = None) -> timedelta:
        return (now or utcnow()) - self.created_at


@dataclass(frozen=True)
class TransitionView:
    from_state: RunState | None
    to_state: RunState
    at: datetime
    actor: str
    reason: str

    @classmethod
    def of(cls, row: object) -> TransitionView:
        values = _snapshot(row, [f.name for f in fields(cls)])
        values["from_state"] = RunState(values["from_state"]) if values["from_state"] else None
        values["to_state"] = RunState(values["to_state"])
        return cls(**values)


@dataclass(frozen=True)
class StepView:
    id: int
    seq: int
    name: str
    command: str
    exit_code: int | None
    duration: float | None
    cpu_seconds: float | None
    output_digest: str | None
    output_excerpt: str
    output_bytes: int
    kill_reason: str | None
    started_at: datetime
    ended_at: datetime | None
    kind: str | None = None
    refused: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    detail: dict[str, Any] | None = None

    @property
    def step_kind(self) -> str:
        """`model` or `tool` for the agent's steps; the step's name (exec, setup, clone, ...) otherwise."""
        return self.kind or self.name

    @classmethod
    def of(cls, row: object) -> StepView:
        return cls(**_snapshot(row, [f.name for f in fields(cls)]))


@dataclass(frozen=True)
class ApprovalView:
    actor: str
    role: str
    decision: ApprovalDecision
    reason: str
    steps_kept: list[str]
    steps_dropped: list[str]
    at: datetime
    plan_digest: str = ""

    @classmethod
    def of(cls, row: object) -> ApprovalView:
        values = _snapshot(row, [f.name for f in fields(cls)])
        values["decision"] = ApprovalDecision(values["decision"])
        values["steps_kept"] = list(values["steps_kept"])
        values["steps_dropped"] = list(values["steps_dropped"])
        return cls(**values)


@dataclass(frozen=True)
class ProposalView:
    branch: str
    commit_sha: str
    diff_stat: str
    files: list[str]
    pr_number: int | None
    pr_url: str | None
    at: datetime
    diff: str = ""

    @classmethod
    def of(cls, row: object) -> ProposalView:
        values = _snapshot(row, [f.name for f in fields(cls)])
        values["files"] = list(values["files"])
        return cls(**values)


@dataclass(frozen=True)
class RunTrace:
    """Everything recorded about one run, oldest first, for `steward runs show` and replay."""

    run: RunView
    transitions: list[TransitionView]
    steps: list[StepView]
    approvals: list[ApprovalView]
    proposals: list[ProposalView]


@dataclass(frozen=True)
class NoiseCounts:
    """What the per-repository noise limits compare against."""

    runs_in_window: int
    """Runs created in the window (a day by default)."""
    open_proposed: int
    """Runs whose pull request is still open (state proposed)."""
    window_resets_at: datetime | None
    """When the oldest run in the window leaves it, freeing one slot."""
