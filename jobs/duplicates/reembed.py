"""Vectors of another embedding model: count them (`steward doctor`) and replace them (`steward duplicates
reembed`). A vector is compared only with vectors of the same model (issue_index.embedding_model), so after
the model or STEWARD_EMBED_MAX_TOKENS changes, old vectors count as missing until they are replaced."""

from __future__ import annotations

from sqlalchemy import func, select, update

from jobs.duplicates import semantic
from jobs.duplicates.store import Sessions, embed_off_loop, embedded_text, now_revision
from jobs.models.issue_index import IssueIndexRow

BATCH = 256
"""Rows embedded per database round trip (one commit each, so an interrupted run keeps what it did)."""


async def other_models(sessions: Sessions, repo: str | None = None) -> dict[str, int]:
    """Stored vectors by the model that made them, for every model but the current one ('' = unrecorded)."""
    query = (
        select(IssueIndexRow.embedding_model, func.count())
        .where(IssueIndexRow.embedding.is_not(None), IssueIndexRow.embedding_model != semantic.model_id())
        .group_by(IssueIndexRow.embedding_model)
    )
    if repo is not None:
        query = query.where(IssueIndexRow.repo == repo)
    async with sessions() as session:
        return {str(model): int(n) for model, n in (await session.execute(query)).all()}


async def reembed(
    sessions: Sessions, repo: str | None = None, *, missing: bool = False, batch: int = BATCH
) -> int:
    """Embed again every stored vector another model made (and, with `missing`, items stored without one,
    e.g. indexed before the embeddings extra was installed); returns how many rows got a new vector.

    Each row's revision is bumped, so in-memory snapshots read the new vectors."""
    if not semantic.embeddings_available()[0]:
        raise RuntimeError(semantic.embeddings_available()[1])
    current = semantic.model_id()
    done, after = 0, 0
    while True:
        stale = IssueIndexRow.embedding_model != current
        if not missing:
            stale = stale & IssueIndexRow.embedding.is_not(None)
        query = select(IssueIndexRow.id, IssueIndexRow.title, IssueIndexRow.body).where(
            stale, IssueIndexRow.id > after
        )
        if repo is not None:
            query = query.where(IssueIndexRow.repo == repo)
        async with sessions() as session:
            rows = (await session.execute(query.order_by(IssueIndexRow.id).limit(batch))).all()
        if not rows:
            return done
        blobs = await embed_off_loop([embedded_text(title, body) for _, title, body in rows])
        async with sessions.begin() as session:
            for (row_id, _, _), blob in zip(rows, blobs, strict=True):
                await session.execute(
                    update(IssueIndexRow)
                    .where(IssueIndexRow.id == row_id)
                    .values(embedding=blob, embedding_model=current, revision=now_revision())
                )
        done += len(rows)
        after = rows[-1][0]
