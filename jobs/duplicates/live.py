"""A repository's index in memory: a snapshot of the table plus a small delta, refreshed from the database."""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import case, func, select

from jobs import heap
from jobs.duplicates import semantic
from jobs.duplicates.engine import Corpus
from jobs.duplicates.lexical import LexicalBuilder, LexicalMatrix
from jobs.duplicates.store import Sessions, now_revision
from jobs.models.issue_index import IssueIndexRow

REVISION_SLACK_US = 5_000_000
"""Rows stamped this long before a snapshot began are fetched again: a write may commit after its stamp."""
MAX_DELTA = 256
"""Items changed since the snapshot that are kept in a side matrix before the snapshot is rebuilt."""
BUILD_BATCH = 2_000
"""Rows read from the database per batch while a snapshot is built."""
CACHED_REPOS = 8
"""Repositories whose snapshots stay in memory (least recently used leaves first): bounds the worker's RSS."""

_COLUMNS = (
    IssueIndexRow.id,
    IssueIndexRow.number,
    IssueIndexRow.created_at,
    IssueIndexRow.tokens,
    # a vector another model made is not comparable: read as missing (orthogonal) until it is re-embedded
    case((IssueIndexRow.embedding_model == semantic.model_id(), IssueIndexRow.embedding), else_=None),
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
    positions: dict[int, int] = field(init=False)

    def __post_init__(self) -> None:
        self.alive = np.ones(len(self.numbers), dtype=np.bool_)
        self.positions = {int(n): i for i, n in enumerate(self.numbers.tolist())}


def _epoch(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


class SegmentBuilder:
    """Index rows in, a Segment out: rows may come in batches from a database stream, and only compact
    buffers grow with the repository (numbers, times, float16 vectors as bytes, the term matrix's arrays)."""

    def __init__(self, hybrid: bool) -> None:
        self.hybrid = hybrid
        self.lexical = LexicalBuilder()
        self.numbers, self.created, self.duplicate_of = array("q"), array("d"), array("q")
        self.revisions: dict[int, int] = {}
        self.blobs = bytearray()

    def add(self, rows: Iterable[Row]) -> None:
        width = semantic.EMBEDDING_DIM * 2  # float16; a missing or odd vector counts as orthogonal
        for row in rows:
            self.numbers.append(row[1])
            self.created.append(_epoch(row[2]))
            self.duplicate_of.append(row[5] or 0)
            self.revisions[row[1]] = row[6]
            if self.hybrid:
                self.blobs += row[4] if row[4] is not None and len(row[4]) == width else bytes(width)
            self.lexical.add(row[3].split())

    def finish(self) -> Segment:
        lexical = LexicalMatrix(())
        self.lexical.finish(lexical)
        vectors = None
        if self.hybrid:
            half = np.frombuffer(self.blobs, dtype=np.float16)  # a view: no copy of the float16 bytes
            vectors = half.astype(np.float32).reshape(lexical.n_docs, semantic.EMBEDDING_DIM)
            del half
            self.blobs = bytearray()
        return Segment(
            Corpus.of(lexical, vectors),
            np.asarray(self.numbers, dtype=np.int64),
            np.asarray(self.created, dtype=np.float64),
            np.asarray(self.duplicate_of, dtype=np.int64),
            self.revisions,
        )


def build_segment(rows: Iterable[Row], hybrid: bool) -> Segment:
    """Matrices for some index rows (the small delta segment; the base streams through SegmentBuilder)."""
    builder = SegmentBuilder(hybrid)
    builder.add(rows)
    return builder.finish()


@dataclass
class RepoSnapshot:
    """The base segment read at `built_at`, and the rows changed since, kept in a small delta segment."""

    repo: str
    hybrid: bool
    base: Segment
    built_at: int
    """Revision stamp taken when the base was read."""
    checked_at: int
    """Revision stamp of the last look for changes."""
    delta_rows: dict[int, Row] = field(default_factory=dict)
    delta: Segment | None = None
    known: int = 0
    """Rows the snapshot knows to be live; a different count in the table means some were deleted."""

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
        built = snap is None or snap.hybrid != hybrid or not await self._refresh(snap)
        if built:
            snap = await self._build(repo, hybrid)
        assert snap is not None
        self._snapshots[repo] = snap
        if (
            built
        ):  # the rows read, the builder's buffers and the old snapshot are free: pages back (jobs/heap.py)
            heap.trim()
        self._snapshots.move_to_end(repo)
        while len(self._snapshots) > self.max_repos:
            self._snapshots.popitem(last=False)
        return snap

    async def _refresh(self, snap: RepoSnapshot) -> bool:
        """Fold rows changed since the last look into the delta; False when a rebuild is cheaper."""
        started = now_revision()
        since = snap.checked_at - REVISION_SLACK_US
        async with self.sessions() as session:
            stamps = await session.execute(
                select(IssueIndexRow.number, IssueIndexRow.revision).where(
                    IssueIndexRow.repo == snap.repo, IssueIndexRow.revision >= since
                )
            )
            numbers = [number for number, revision in stamps if _held_revision(snap, number) != revision]
        changed = await self._rows(snap.repo, numbers=numbers) if numbers else []
        snap.checked_at = started
        fresh = sum(1 for row in changed if _held_revision(snap, row[1]) is None)
        for row in changed:
            snap.delta_rows[row[1]] = row
            position = snap.base.positions.get(row[1])
            if position is not None:
                snap.base.alive[position] = False  # superseded by its delta row
        if len(snap.delta_rows) > MAX_DELTA:
            return False
        if changed:
            snap.delta = build_segment(list(snap.delta_rows.values()), snap.hybrid)
        async with self.sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(IssueIndexRow).where(IssueIndexRow.repo == snap.repo)
            )
        snap.known += fresh
        if count != snap.known:  # something was deleted (or written while we looked): look at every number
            await self._mark_alive(snap)
        return True

    async def _rows(self, repo: str, numbers: list[int] | None = None) -> list[Row]:
        query = select(*_COLUMNS).where(IssueIndexRow.repo == repo).order_by(IssueIndexRow.id)
        if numbers is not None:
            query = query.where(IssueIndexRow.number.in_(numbers))
        async with self.sessions() as session:
            return [tuple(row) for row in await session.execute(query)]

    async def _build(self, repo: str, hybrid: bool) -> RepoSnapshot:
        """Read the repository's rows in batches straight into the matrices (never all rows at once)."""
        started = now_revision()
        query = select(*_COLUMNS).where(IssueIndexRow.repo == repo).order_by(IssueIndexRow.id)
        builder = SegmentBuilder(hybrid)
        async with self.sessions() as session:
            stream = await session.stream(query.execution_options(yield_per=BUILD_BATCH))
            async for batch in stream.partitions(BUILD_BATCH):
                builder.add(tuple(row) for row in batch)
        segment = builder.finish()
        return RepoSnapshot(repo, hybrid, segment, started, started, known=segment.corpus.size)

    async def _mark_alive(self, snap: RepoSnapshot) -> None:
        """Deleted rows leave both segments; base rows superseded by a delta row drop out of the pool."""
        async with self.sessions() as session:
            live = set(
                await session.scalars(select(IssueIndexRow.number).where(IssueIndexRow.repo == snap.repo))
            )
        gone = [n for n in snap.delta_rows if n not in live]
        for number in gone:
            del snap.delta_rows[number]
        if gone:
            rows = list(snap.delta_rows.values())
            snap.delta = build_segment(rows, snap.hybrid) if rows else None
        snap.known = len(live)
        superseded = snap.delta_rows.keys()
        snap.base.alive = np.fromiter(
            (n in live and n not in superseded for n in snap.base.numbers.tolist()),
            dtype=np.bool_,
            count=len(snap.base.numbers),
        )


def _held_revision(snap: RepoSnapshot, number: int) -> int | None:
    """The revision of a row as the snapshot holds it (delta first), or None when it is new."""
    held = snap.delta_rows.get(number)
    return held[6] if held is not None else snap.base.revisions.get(number)
