"""Keep the duplicate index current: upsert, delete and transfer items, record feedback pairs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.github.protocol import IssueRecord
from jobs.duplicates import semantic
from jobs.duplicates.text import embed_text, tokenize
from jobs.models.issue_index import BODY_MAX, FILES_MAX, TITLE_MAX, DuplicateFeedbackRow, IssueIndexRow

Sessions = async_sessionmaker[AsyncSession]


def now_revision() -> int:
    """The revision stamp of a write: microseconds since the epoch."""
    return time.time_ns() // 1000


def parse_time(value: str | None) -> datetime | None:
    """GitHub's ISO times ('...Z') as aware datetimes; junk becomes None rather than an error."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _values(repo: str, record: IssueRecord, vector: bytes | None) -> dict[str, object]:
    tokens = tokenize(record.title, record.body)
    return {
        "repo": repo,
        "number": record.number,
        "kind": "pull" if record.is_pull_request else "issue",
        "title": record.title[:TITLE_MAX],
        "body": record.body[:BODY_MAX],
        "state": record.state,
        "state_reason": record.state_reason,
        "labels": json.dumps(record.labels),
        "author": record.author,
        "author_type": record.author_type,
        "base_branch": record.base_branch[:255],
        "html_url": record.html_url,
        "created_at": parse_time(record.created_at) or datetime.now(UTC),
        "updated_at": parse_time(record.updated_at),
        "closed_at": parse_time(record.closed_at),
        "tokens": " ".join(tokens),
        "token_count": len(tokens),
        "embedding": vector,
        "embedding_model": semantic.model_id() if vector is not None else "",
        **({} if record.files is None else {"files": json.dumps(record.files[:FILES_MAX])}),
        "indexed_at": datetime.now(UTC),
        "revision": now_revision(),
    }


async def upsert_items(sessions: Sessions, repo: str, records: Sequence[IssueRecord]) -> int:
    """Insert or refresh items (embedding them in one batch when the extra is present); returns the count."""
    if not records:
        return 0
    vectors: list[bytes | None] = [None] * len(records)
    if semantic.embeddings_available()[0]:
        vectors = await _vectors(sessions, repo, records)
    for attempt in range(UPSERT_TRIES):
        try:
            await _write_items(sessions, repo, records, vectors)
            break
        except IntegrityError:  # another worker inserted one of these items between our read and our insert
            if attempt == UPSERT_TRIES - 1:
                raise
    return len(records)


UPSERT_TRIES = 3
"""Writes of one batch tried at most this often: a retry reads the rows the other writer inserted and updates
them (two workers indexing the same item at once, e.g. an opened event and a backfill page)."""


async def _write_items(
    sessions: Sessions, repo: str, records: Sequence[IssueRecord], vectors: list[bytes | None]
) -> None:
    numbers = [r.number for r in records]
    async with sessions.begin() as session:
        existing = {
            row.number: row
            for row in await session.scalars(
                select(IssueIndexRow).where(IssueIndexRow.repo == repo, IssueIndexRow.number.in_(numbers))
            )
        }
        for record, vector in zip(records, vectors, strict=True):
            values = _values(repo, record, vector)
            row = existing.get(record.number)
            if row is None:
                row = IssueIndexRow(**values)
                session.add(row)
                existing[record.number] = row
            else:
                if not record.base_branch:  # an issue-list page of a PR lacks it: keep what a PR payload gave
                    values.pop("base_branch")
                for key, value in values.items():
                    setattr(row, key, value)
                if record.state == "open":
                    row.duplicate_of = None


def embedded_text(title: str, body: str) -> str:
    """What the model reads of an item as it is stored (title and body cut as the columns cut them), so a
    stored vector is a function of the stored text alone."""
    return embed_text(title[:TITLE_MAX], body[:BODY_MAX])


async def _vectors(sessions: Sessions, repo: str, records: Sequence[IssueRecord]) -> list[bytes | None]:
    """One vector per record, embedding only texts not already embedded: an item whose stored title and body
    read the same keeps its stored vector (a close, a label, a reopen, a backfill run again), and texts
    repeated within the batch (automated items) are embedded once."""
    async with sessions() as session:
        stored = {
            row.number: (row.title, row.body, row.embedding)
            for row in await session.execute(
                select(
                    IssueIndexRow.number, IssueIndexRow.title, IssueIndexRow.body, IssueIndexRow.embedding
                ).where(
                    IssueIndexRow.repo == repo,
                    IssueIndexRow.number.in_([r.number for r in records]),
                    IssueIndexRow.embedding_model == semantic.model_id(),  # another model's: embed again
                )
            )
        }
    width = semantic.EMBEDDING_DIM * 2
    known: dict[str, bytes] = {}
    for title, body, blob in stored.values():
        if blob is not None and len(blob) == width:
            known[embedded_text(title, body)] = blob
    texts = [embedded_text(r.title, r.body) for r in records]
    missing = list(dict.fromkeys(t for t in texts if t not in known))
    if missing:
        known.update(zip(missing, await embed_off_loop(missing), strict=True))
    return [known[t] for t in texts]


async def embed_off_loop(texts: Sequence[str]) -> list[bytes]:
    """The texts' vectors as stored, computed in a worker thread: a backfill page is seconds of CPU, and on
    the event loop it would stall every other job of the worker (a triage, a command) for as long. Torch
    releases the GIL while it computes, so the loop keeps answering."""
    vectors = await asyncio.to_thread(semantic.embed, list(texts))
    return [semantic.to_blob(v) for v in vectors]


async def upsert_item(sessions: Sessions, repo: str, record: IssueRecord) -> None:
    """Opened, edited, closed, reopened, labelled: the item's newest state replaces the stored one."""
    await upsert_items(sessions, repo, [record])


async def delete_item(sessions: Sessions, repo: str, number: int) -> bool:
    """A deleted (or transferred-away) item leaves the index; returns whether it was there."""
    async with sessions.begin() as session:
        result = await session.execute(
            delete(IssueIndexRow).where(IssueIndexRow.repo == repo, IssueIndexRow.number == number)
        )
    return bool(getattr(result, "rowcount", 0))


async def transfer_item(
    sessions: Sessions, old_repo: str, number: int, new_repo: str | None, record: IssueRecord | None
) -> None:
    """Moved to another repository: gone here, indexed there when Steward serves it."""
    await delete_item(sessions, old_repo, number)
    if new_repo is not None and record is not None:
        await upsert_item(sessions, new_repo, record)


async def get_item(sessions: Sessions, repo: str, number: int) -> IssueIndexRow | None:
    async with sessions() as session:
        row: IssueIndexRow | None = await session.scalar(
            select(IssueIndexRow).where(IssueIndexRow.repo == repo, IssueIndexRow.number == number)
        )
        return row


async def record_feedback(
    sessions: Sessions, repo: str, number: int, other: int, *, duplicate: bool, source: str, actor: str = ""
) -> None:
    """Remember a judged pair (the newest verdict wins); a duplicate also links the item to its original."""
    if number == other:
        return
    async with sessions.begin() as session:
        await session.execute(
            delete(DuplicateFeedbackRow).where(
                DuplicateFeedbackRow.repo == repo,
                or_(
                    (DuplicateFeedbackRow.number == number) & (DuplicateFeedbackRow.other == other),
                    (DuplicateFeedbackRow.number == other) & (DuplicateFeedbackRow.other == number),
                ),
            )
        )
        session.add(
            DuplicateFeedbackRow(
                repo=repo, number=number, other=other, duplicate=duplicate, source=source, actor=actor
            )
        )
        if duplicate:
            await session.execute(
                update(IssueIndexRow)
                .where(IssueIndexRow.repo == repo, IssueIndexRow.number == number)
                .values(duplicate_of=other, revision=now_revision())
            )


async def feedback_for(sessions: Sessions, repo: str, number: int) -> dict[int, bool]:
    """Every judged partner of one item: True for duplicate pairs, False for not-duplicate pairs."""
    async with sessions() as session:
        rows = await session.scalars(
            select(DuplicateFeedbackRow).where(
                DuplicateFeedbackRow.repo == repo,
                or_(DuplicateFeedbackRow.number == number, DuplicateFeedbackRow.other == number),
            )
        )
        return {(r.other if r.number == number else r.number): r.duplicate for r in rows}


async def positive_pairs(sessions: Sessions, repo: str | None = None) -> list[tuple[str, int, int]]:
    """(repo, duplicate, original) pairs maintainers confirmed: material for refitting the calibration."""
    query = select(DuplicateFeedbackRow).where(DuplicateFeedbackRow.duplicate.is_(True))
    if repo is not None:
        query = query.where(DuplicateFeedbackRow.repo == repo)
    async with sessions() as session:
        return [(r.repo, r.number, r.other) for r in await session.scalars(query)]
