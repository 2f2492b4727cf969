"""A repository's index in memory: a snapshot of the table plus a small delta, refreshed from the database."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import select

from jobs.duplicates import semantic
from jobs.duplicates.engine import Corpus
from jobs.duplicates.store import Sessions, now_revision
from jobs.models.issue_index import IssueIndexRow

REVISION_SLACK_US = 5_000_000
"""Rows stamped this long before a snapshot began are fetched again: a write may commit after its stamp."""
MAX_DELTA = 256
"""Items changed since the snapshot that are kept in a side matrix before the snapshot is rebuilt."""
CACHED_REPOS = 8
"""Repositories whose snapshots stay in memory (least recently used leaves first): bounds the worker's RSS."""

_COLUMNS = (
    IssueIndexRow.id,
    IssueIndexRow.number,
    IssueIndexRow.created_at,
    IssueIndexRow.tokens,
    IssueIndexRow.embedding,
    IssueIndexRow.duplicate_of,
    IssueIndexRow.revision,
)
Row = tuple[int, int, datetime, str, bytes | None, int | None, int]


@dataclass
class Segment:
    """Rows of one corpus: their numbers, creation times (epoch seconds) and known originals."""

    corpus: Corpus
    numbers: npt.NDArray[np.int64]
    created: npt.NDArray[np.float64]
    duplicate_of: npt.NDArray[np.int64]
    revisions: dict[int, int]
    """Number -> revision stamp of the row as read, to tell real changes from rows read again."""
    alive: npt.NDArray[np.bool_] = field(init=False)

    def __post_init__(self) -> None:
        self.alive = np.ones(len(self.numbers), dtype=np.bool_)


def _epoch(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def build_segment(rows: list[Row], hybrid: bool) -> Segment:
    """Matrices for some index rows; vectors missing from old rows count as orthogonal."""
    tokens = [row[3].split() for row in rows]
    vectors = None
    if hybrid:
        vectors = np.zeros((len(rows), semantic.EMBEDDING_DIM), dtype=np.float32)
        for i, row in enumerate(rows):
            if row[4] is not None and len(row[4]) == semantic.EMBEDDING_DIM * 2:
                vectors[i] = semantic.from_blob(row[4])
    return Segment(
        Corpus(tokens, vectors),
        np.asarray([row[1] for row in rows], dtype=np.int64),
        np.asarray([_epoch(row[2]) for row in rows], dtype=np.float64),
        np.asarray([row[5] or 0 for row in rows], dtype=np.int64),
        {row[1]: row[6] for row in rows},
    )


@dataclass
class RepoSnapshot:
    """The base segment built at `built_at`, and the delta of rows indexed after it."""

    repo: str
    hybrid: bool
    base: Segment
    built_at: int
    """Revision stamp taken when the base was read."""
    delta: Segment | None = None

    def segments(self) -> list[Segment]:
        return [self.base] if self.delta is None else [self.base, self.delta]


class IndexCache:
    """Snapshots of recently triaged repositories, kept current with two cheap queries per use."""

    def __init__(self, sessions: Sessions, max_repos: int = CACHED_REPOS) -> None:
        self.sessions = sessions
        self.max_repos = max_repos
        self._snapshots: OrderedDict[str, RepoSnapshot] = OrderedDict()

    def forget(self, repo: str) -> None:
        self._snapshots.pop(repo, None)

    async def snapshot(self, repo: str, hybrid: bool) -> RepoSnapshot:
        """The repository's index as of now: rebuilt when absent or when the delta grew too large."""
        snap = self._snapshots.get(repo)
        if snap is None or snap.hybrid != hybrid:
            snap = await self._build(repo, hybrid)
        else:
            recent = await self._rows(repo, since=snap.built_at)
            delta_rows = [row for row in recent if snap.base.revisions.get(row[1]) != row[6]]
            if len(delta_rows) > MAX_DELTA:
                snap = await self._build(repo, hybrid)
            else:
                snap.delta = build_segment(delta_rows, hybrid) if delta_rows else None
                await self._mark_alive(snap)
        self._snapshots[repo] = snap
        self._snapshots.move_to_end(repo)
        while len(self._snapshots) > self.max_repos:
            self._snapshots.popitem(last=False)
        return snap

    async def _rows(self, repo: str, since: int | None = None) -> list[Row]:
        query = select(*_COLUMNS).where(IssueIndexRow.repo == repo).order_by(IssueIndexRow.id)
        if since is not None:
            query = query.where(IssueIndexRow.revision >= since - REVISION_SLACK_US)
        async with self.sessions() as session:
            return [tuple(row) for row in await session.execute(query)]  # type: ignore[misc]

    async def _build(self, repo: str, hybrid: bool) -> RepoSnapshot:
        started = now_revision()
        rows = await self._rows(repo)
        return RepoSnapshot(repo, hybrid, build_segment(rows, hybrid), started)

    async def _mark_alive(self, snap: RepoSnapshot) -> None:
        """Deleted rows, and base rows superseded by a delta row, drop out of the pool."""
        async with self.sessions() as session:
            live = set(
                await session.scalars(select(IssueIndexRow.number).where(IssueIndexRow.repo == snap.repo))
            )
        superseded = set() if snap.delta is None else set(snap.delta.numbers.tolist())
        snap.base.alive = np.fromiter(
            (n in live and n not in superseded for n in snap.base.numbers.tolist()),
            dtype=np.bool_,
            count=len(snap.base.numbers),
        )
