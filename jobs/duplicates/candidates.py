"""Find the earlier items most likely repeated by one indexed item, minus what maintainers already judged."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from app.config.model import DuplicatesConfig
from jobs.duplicates import calibration, decision, semantic, store
from jobs.duplicates.engine import TOP_K, fuse, top_in_pool
from jobs.duplicates.lexical import BoolArray
from jobs.duplicates.live import IndexCache, Segment
from jobs.duplicates.store import Sessions
from jobs.models.issue_index import IssueIndexRow

OVERFETCH = 3
"""Rank this many times TOP_K before dropping excluded labels, so exclusions rarely shorten the list."""


@dataclass(frozen=True)
class Suggestion:
    """An earlier item that may be the original, as a comment shows it."""

    number: int
    title: str
    state: str
    kind: str
    html_url: str
    score: float
    why: decision.Pair | None = None
    """What the two share (title words, files, an error line, an issue reference), for the comment."""


async def find_candidates(
    sessions: Sessions,
    index: IndexCache,
    repo: str,
    number: int,
    config: DuplicatesConfig,
    known_template: frozenset[str] = frozenset(),
) -> list[Suggestion]:
    """The best earlier candidates for an indexed item, best first, with calibrated scores; lines of
    `known_template` (the repository's own templates) count as template text."""
    query = await store.get_item(sessions, repo, number)
    if query is None:
        return []
    hybrid = semantic.embeddings_available()[0]
    vector = None
    if hybrid:
        if query.embedding is not None and query.embedding_model == semantic.model_id():
            vector = semantic.from_blob(query.embedding)
        else:
            text = store.embedded_text(query.title, query.body)
            vector = semantic.from_blob((await store.embed_off_loop([text]))[0])
    snap = await index.snapshot(repo, hybrid)
    judged = await store.feedback_for(sessions, repo, number)
    before = store.parse_time(query.created_at.isoformat())
    cutoff = before.timestamp() if before else float("inf")
    pools = [_pool(segment, number, cutoff, judged) for segment in snap.segments()]
    fused = fuse(
        [(s.corpus, p) for s, p in zip(snap.segments(), pools, strict=True)], query.tokens.split(), vector
    )
    pool = np.concatenate(pools)
    numbers = np.concatenate([s.numbers for s in snap.segments()])
    k = min(TOP_K * OVERFETCH, int(pool.sum()))
    if k == 0:
        return []
    top = np.argpartition(-fused, k - 1)[:k]
    top = top[np.argsort(-fused[top], kind="stable")]
    rows = await _rows(sessions, repo, [int(numbers[i]) for i in top])
    excluded = set(config.exclude_labels)
    keep = [
        i for i in top if (row := rows.get(int(numbers[i]))) and not excluded & set(json.loads(row.labels))
    ]
    for i in top:
        if i not in keep:
            pool[i] = False
    chosen = np.asarray(keep[:TOP_K], dtype=np.int64)
    chosen_rows = [rows[int(numbers[i])] for i in chosen]
    columns = calibration.features(fused[pool], top_in_pool(chosen, pool))
    pairs = decision.pairs(item(query), [item(row) for row in chosen_rows], columns, known_template)
    probs = decision.probabilities([p.features for p in pairs], decision.coefficients(vector is not None))
    return [
        Suggestion(
            number=row.number,
            title=row.title,
            state=row.state,
            kind=row.kind,
            html_url=row.html_url,
            score=round(float(prob), 3),
            why=pair,
        )
        for row, pair, prob in zip(chosen_rows, pairs, probs, strict=True)
    ]


def item(row: IssueIndexRow) -> decision.Item:
    """What the decision reads of an indexed row."""
    files = None if row.files is None else tuple(str(f) for f in json.loads(row.files))
    return decision.Item(
        title=row.title,
        body=row.body,
        number=row.number,
        author=row.author,
        author_type=row.author_type,
        base_branch=row.base_branch,
        files=files,
        created=row.created_at.timestamp() if row.created_at else None,
        state=row_state(row),
    )


def row_state(row: IssueIndexRow) -> str:
    """open, closed, merged or duplicate (closed as one, or linked to its original)."""
    if row.duplicate_of or row.state_reason == "duplicate":
        return "duplicate"
    if row.state_reason == "merged":
        return "merged"
    return "closed" if row.state == "closed" else "open"


def _pool(segment: Segment, number: int, cutoff: float, judged: dict[int, bool]) -> BoolArray:
    """Live rows created before the query, not it, not judged with it, not themselves known duplicates."""
    pool = (
        segment.alive & (segment.created < cutoff) & (segment.numbers != number) & (segment.duplicate_of == 0)
    )
    if judged:
        pool &= ~np.isin(segment.numbers, np.asarray(list(judged), dtype=np.int64))
    return np.asarray(pool, dtype=np.bool_)


async def _rows(sessions: Sessions, repo: str, numbers: list[int]) -> dict[int, IssueIndexRow]:
    async with sessions() as session:
        rows = await session.scalars(
            select(IssueIndexRow).where(IssueIndexRow.repo == repo, IssueIndexRow.number.in_(numbers))
        )
        return {row.number: row for row in rows}
