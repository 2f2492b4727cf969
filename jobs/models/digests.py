"""The weekly digests Steward published: one row per repository and ISO week, so a rerun edits, never adds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from jobs.db import Base


class DigestRow(Base):
    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("repo", "week", name="uq_digests_repo_week"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(255))
    week: Mapped[str] = mapped_column(String(16))
    """The ISO week it is titled by, `2026-W49`."""
    kind: Mapped[str] = mapped_column(String(16))
    """issue or discussion"""
    number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The issue's or Discussion's number; None between the claim and GitHub's answer."""
    node_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """A Discussion's GraphQL id, which its edits need."""
    url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """When the digest's body was last written (published or edited)."""
