"""What one workflow may do: the token it gets, where it may write, what it may use, who approves."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.config.model import Role
from policies.budget import Budget
from sandbox.diffcheck import ALWAYS_DENIED
from sandbox.gitmeasure import MEASURE_BUDGET
from sandbox.limits import Limits, parse_size

Access = Literal["read", "write"]


class ApprovalRule(BaseModel):
    """The least the repository's configuration may ask for: it may be stricter, never weaker."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    required: bool = False
    """Plans always wait for an approval, whatever the configuration says."""
    level: Role = "write"
    """The least role whose approval counts."""


class Policy(BaseModel):
    """One workflow's policy, as shipped in policies/<workflow>.yml (and as narrowed by a repository)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)

    workflow: str
    """The workflow's name (docs, tests, duplicates, commands)."""
    summary: str = ""
    """What the workflow does, in one line."""
    permissions: dict[str, Access]
    """The installation token's `permissions` body: GitHub permission name -> read or write."""
    writable: list[str] = Field(default_factory=list)
    """Path globs the workflow may change."""
    denied: list[str] = Field(default_factory=list)
    """Path globs it may never change (the always-denied paths are added on load)."""
    max_files: int = Field(default=0, ge=0)
    """Most files one proposal may touch."""
    max_lines: int = Field(default=0, ge=0)
    """Most changed lines (added + removed) in one proposal; binary files count by bytes instead."""
    max_file_bytes: int = Field(default=1024**2, gt=0, le=MEASURE_BUDGET)
    """Largest file one proposal may write, in bytes (accepts 512k, 1m), text or binary."""
    max_bytes: int = Field(default=5 * 1024**2, gt=0, le=MEASURE_BUDGET)
    """Most bytes one proposal may write over all its files (accepts 5m), at most what Steward measures."""
    network: Literal["none", "setup"] = "none"
    """`setup`: only the setup phase reaches the network (allow-listed hosts); `none`: never."""
    limits: Limits = Field(default_factory=Limits)
    """Sandbox limits of one run."""
    approval: ApprovalRule = Field(default_factory=ApprovalRule)
    """The minimum approval rule."""
    tools: list[str] = Field(default_factory=list)
    """Tools the agent engine is offered (the allowlist: anything else is refused and recorded)."""
    budget: Budget = Field(default_factory=Budget)
    """The agent engine's per-run ceilings (model requests, tokens, cost, tool calls, wall time)."""

    @field_validator("max_file_bytes", "max_bytes", mode="before")
    @classmethod
    def _sizes(cls, value: object) -> object:
        return parse_size(value) if isinstance(value, str) else value

    @field_validator("denied")
    @classmethod
    def _always_denied(cls, value: list[str]) -> list[str]:
        return [*ALWAYS_DENIED, *(glob for glob in value if glob not in ALWAYS_DENIED)]

    @property
    def writes(self) -> bool:
        """Whether the workflow changes files (and so needs a valid configuration to run)."""
        return bool(self.writable) or self.permissions.get("contents") == "write"
