"""The shadow records: written where GitHub would have been, read back by `steward shadow report`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jobs.ledger.views import aware, utcnow
from jobs.models.shadow import ShadowRecordRow

Sessions = async_sessionmaker[AsyncSession]
BODY_MAX_CHARS = 512 * 1024
"""A recorded body (a diff, a comment) is kept up to this size, and says so when cut."""
KEY_MAX_CHARS = 255
TRIAGE_SCOPE = "triage"
"""Duplicate triage has no run of its own that outlives it: one suggestion per item, the latest kept."""


@dataclass(frozen=True)
class Effect:
    """What would have reached GitHub: where, which kind, and its content."""

    repo: str
    number: int
    workflow: str
    scope: str
    kind: str
    key: str = ""
    body: str = ""
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class ShadowRecord:
    repo: str
    number: int
    workflow: str
    scope: str
    kind: str
    key: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def _bounded(text: str) -> str:
    if len(text) <= BODY_MAX_CHARS:
        return text
    return text[:BODY_MAX_CHARS] + f"\n[... {len(text) - BODY_MAX_CHARS} characters cut ...]"


def _match(effect: Effect) -> Any:
    return select(ShadowRecordRow).where(
        ShadowRecordRow.repo == effect.repo,
        ShadowRecordRow.number == effect.number,
        ShadowRecordRow.workflow == effect.workflow,
        ShadowRecordRow.scope == effect.scope,
        ShadowRecordRow.kind == effect.kind,
        ShadowRecordRow.key == effect.key[:KEY_MAX_CHARS],
    )


async def record(sessions: Sessions, effect: Effect) -> None:
    """Keep the effect; the same effect again (a rerun, an edit of the same comment) updates the one row."""
    for _ in range(2):  # a concurrent first insert of the same effect loses the race once, then updates
        try:
            async with sessions.begin() as session:
                row = await session.scalar(_match(effect))
                body, data, now = _bounded(effect.body), dict(effect.data or {}), utcnow()
                if row is None:
                    session.add(
                        ShadowRecordRow(
                            repo=effect.repo,
                            number=effect.number,
                            workflow=effect.workflow,
                            scope=effect.scope,
                            kind=effect.kind,
                            key=effect.key[:KEY_MAX_CHARS],
                            body=body,
                            data=data,
                            created_at=now,
                            updated_at=now,
                        )
                    )
                else:
                    row.body, row.data, row.updated_at = body, data, now
            return
        except IntegrityError:
            continue


async def records(
    sessions: Sessions,
    *,
    repo: str | None = None,
    since: datetime | None = None,
    workflow: str | None = None,
    scope: str | None = None,
    limit: int = 10_000,
) -> list[ShadowRecord]:
    """Shadow records, oldest first, filtered; at most `limit`."""
    query = select(ShadowRecordRow).order_by(ShadowRecordRow.created_at, ShadowRecordRow.id).limit(limit)
    if repo is not None:
        query = query.where(ShadowRecordRow.repo == repo)
    if since is not None:
        query = query.where(ShadowRecordRow.updated_at >= since)
    if workflow is not None:
        query = query.where(ShadowRecordRow.workflow == workflow)
    if scope is not None:
        query = query.where(ShadowRecordRow.scope == scope)
    async with sessions() as session:
        rows = await session.scalars(query)
        return [
            ShadowRecord(
                r.repo,
                r.number,
                r.workflow,
                r.scope,
                r.kind,
                r.key,
                r.body,
                dict(r.data or {}),
                aware(r.created_at),
                aware(r.updated_at),
            )
            for r in rows
        ]
