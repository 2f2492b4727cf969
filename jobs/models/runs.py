"""The run ledger's tables: runs, their transitions, steps, approvals and proposals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from jobs.db import Base

SHA = String(80)


class RunRow(Base):
    """One run of one workflow on one issue or pull request."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_repo_number", "repo", "number"),
        Index("ix_runs_created_at_id", "created_at", "id"),  # the dashboard's keyset pages
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    repo: Mapped[str] = mapped_column(String(255), index=True)
    number: Mapped[int] = mapped_column(Integer)
    workflow: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32), index=True)
    engine: Mapped[str] = mapped_column(String(32), default="builtin")
    mode: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    """normal, or shadow: the workflow's `mode` when the run was made (a run once in shadow stays there)."""
    actor: Mapped[str] = mapped_column(String(255), default="")
    actor_role: Mapped[str] = mapped_column(String(32), default="")
    """The requester's role when the run was asked for: a GitHub role, or how it started without one
    (jobs/ledger/roles.py); empty for runs recorded before 0012."""
    event: Mapped[str] = mapped_column(String(64), default="")
    delivery_id: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    installation_id: Mapped[int | None] = mapped_column(BigInteger)
    retry_of: Mapped[str | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    revision_of: Mapped[str | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    """The run whose pull request this run revises (`/steward revise`), on that pull request's branch."""
    config_digest: Mapped[str | None] = mapped_column(SHA)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sandbox_image: Mapped[str | None] = mapped_column(String(255))
    sandbox_digest: Mapped[str | None] = mapped_column(String(100))
    base_sha: Mapped[str | None] = mapped_column(SHA)
    branch: Mapped[str | None] = mapped_column(String(255))
    pr_number: Mapped[int | None] = mapped_column(Integer)
    pr_url: Mapped[str | None] = mapped_column(String(500))
    instructions: Mapped[str] = mapped_column(Text, default="")
    paths: Mapped[list[str]] = mapped_column(JSON, default=list)
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    plan_comment_id: Mapped[int | None] = mapped_column(BigInteger)
    tool_calls: Mapped[int] = mapped_column(Integer, default=0)
    model_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    cpu_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    wall_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TransitionRow(Base):
    """One move of a run from a state to another: when, by whom, why."""

    __tablename__ = "run_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(255), default="")
    reason: Mapped[str] = mapped_column(Text, default="")


class StepRow(Base):
    """One command a run executed, with its outcome."""

    __tablename__ = "run_steps"
    __table_args__ = (UniqueConstraint("run_id", "seq", name="uq_run_steps_run_id_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    command: Mapped[str] = mapped_column(Text, default="")
    exit_code: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float | None] = mapped_column(Float)
    cpu_seconds: Mapped[float | None] = mapped_column(Float)
    """CPU time of a sandbox step (None for host steps): with its duration, added to the run's cost."""
    output_digest: Mapped[str | None] = mapped_column(String(64))
    output_excerpt: Mapped[str] = mapped_column(Text, default="")
    output_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    kill_reason: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str | None] = mapped_column(String(16))
    """`model` or `tool` for the agent's steps; None for the others (their kind is their name)."""
    refused: Mapped[bool] = mapped_column(Boolean, default=False)
    """A tool call the policy refused, or the model request a budget stopped."""
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """A model step's new messages and response; a tool step's arguments (never a secret)."""


class ApprovalRow(Base):
    """An answer to a waiting plan: accepted or refused, by whom, with which steps."""

    __tablename__ = "run_approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32), default="")
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    steps_kept: Mapped[list[str]] = mapped_column(JSON, default=list)
    steps_dropped: Mapped[list[str]] = mapped_column(JSON, default=list)
    plan_digest: Mapped[str] = mapped_column(String(64), default="")
    """For an accepted approval: the digest of the plan it approved (jobs/runs/binding.py)."""
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProposalRow(Base):
    """What a run proposed: the pushed branch and commit, the diff stat, the pull request."""

    __tablename__ = "run_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    branch: Mapped[str] = mapped_column(String(255))
    commit_sha: Mapped[str] = mapped_column(SHA)
    diff_stat: Mapped[str] = mapped_column(Text, default="")
    files: Mapped[list[str]] = mapped_column(JSON, default=list)
    diff: Mapped[str] = mapped_column(Text, default="")
    """The proposed diff (`git diff` of base and commit), cut at DIFF_MAX_CHARS; empty before 0008."""
    pr_number: Mapped[int | None] = mapped_column(Integer)
    pr_url: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
