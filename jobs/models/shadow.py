"""What shadow-mode workflows would have done on GitHub: one row per effect, updated as a rerun converges."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from jobs.db import Base


class ShadowRecordRow(Base):
    """One comment, label, status, pull request, push or duplicate suggestion that was recorded, not made."""

    __tablename__ = "shadow_records"
    __table_args__ = (
        UniqueConstraint(
            "repo", "number", "workflow", "scope", "kind", "key", name="uq_shadow_records_effect"
        ),
        Index("ix_shadow_records_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(255), index=True)
    number: Mapped[int] = mapped_column(Integer)
    """The issue or pull request the effect was aimed at."""
    workflow: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(64))
    """The run's id, or `triage` for duplicate triage (one suggestion per item, the latest kept)."""
    kind: Mapped[str] = mapped_column(String(32))
    """comment, labels, status, pull, push, check or suggestions."""
    key: Mapped[str] = mapped_column(String(255), default="")
    """What makes the effect one: a comment's marker, a status's commit and context, a branch."""
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
