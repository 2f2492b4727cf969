"""The duplicate index: each repository's issues and pull requests, feedback pairs, and backfill cursors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from jobs.db import Base

TITLE_MAX = 1024
FILES_MAX = 100
"""Changed files kept per pull request: one page of GitHub's files API, enough to compare two PRs."""
BODY_MAX = 20_000
"""Stored body characters: enough for retrieval, bounded so a pasted log cannot bloat the index."""


class IssueIndexRow(Base):
    """One issue or pull request as retrieval needs it: text, metadata, tokens and embedding."""

    __tablename__ = "issue_index"
    __table_args__ = (
        UniqueConstraint("repo", "number", name="uq_issue_index_repo_number"),
        Index("ix_issue_index_repo_revision", "repo", "revision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(255), index=True)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    """issue or pull"""
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16))
    state_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    labels: Mapped[str] = mapped_column(Text, default="[]")
    """JSON list of label names."""
    author: Mapped[str] = mapped_column(String(255), default="")
    author_type: Mapped[str] = mapped_column(String(16), default="")
    """user or bot (GitHub's `user.type`); empty for rows indexed before it was stored."""
    base_branch: Mapped[str] = mapped_column(String(255), default="")
    """A pull request's base branch; empty for issues."""
    files: Mapped[str | None] = mapped_column(Text, nullable=True)
    """JSON list of a pull request's changed files (at most FILES_MAX); None when not fetched."""
    html_url: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duplicate_of: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The original, when this item was closed as its duplicate."""
    tokens: Mapped[str] = mapped_column(Text, default="")
    """Space-separated lexical tokens (text.tokenize), so rebuilding needs no re-tokenising."""
    token_count: Mapped[int] = mapped_column(Integer, default=0)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """float16 all-MiniLM-L6-v2 vector; None when the embeddings extra was absent at indexing time."""
    embedding_model: Mapped[str] = mapped_column(String(64), default="", server_default="")
    """What made `embedding` (semantic.model_id(), e.g. all-MiniLM-L6-v2/256); a vector of another model is
    neither compared nor reused, and `steward duplicates reembed` replaces it."""
    indexed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    """Microseconds since the epoch at the last write: in-memory snapshots fetch rows newer than they are."""


class DuplicateFeedbackRow(Base):
    """A pair maintainers judged: duplicate (closed as one) or not (`/steward not-duplicate #N`)."""

    __tablename__ = "duplicate_feedback"
    __table_args__ = (UniqueConstraint("repo", "number", "other", name="uq_duplicate_feedback_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(255), index=True)
    number: Mapped[int] = mapped_column(Integer)
    other: Mapped[int] = mapped_column(Integer)
    duplicate: Mapped[bool] = mapped_column()
    source: Mapped[str] = mapped_column(String(32))
    """command, close_reason or comment"""
    actor: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IndexBackfillRow(Base):
    """Where a repository's backfill stands, so a restart resumes at the next page."""

    __tablename__ = "issue_index_backfill"

    repo: Mapped[str] = mapped_column(String(255), primary_key=True)
    next_page: Mapped[int] = mapped_column(Integer, default=1)
    items: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
