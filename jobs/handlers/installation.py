"""Record which installations and repositories Steward serves; replaying a delivery changes nothing."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.events import InstallationEvent, InstallationRepositoriesEvent, RepositoryRef
from jobs.context import db_sessions
from jobs.duplicates.jobs import enqueue_backfills
from jobs.failures import guarded
from jobs.models import InstallationRow, RepositoryRow

log = logging.getLogger(__name__)

ACTIVE_AFTER = {
    "created": True,
    "unsuspend": True,
    "new_permissions_accepted": True,
    "deleted": False,
    "suspend": False,
}
"""Whether the installation serves after each `installation` action."""


async def sync_installation(
    ctx: dict[str, Any], delivery_id: str, event_name: str, event: dict[str, Any]
) -> str:
    """Upsert the installation and its repositories from an installation(_repositories) event."""

    async def work() -> str:
        async with db_sessions(ctx).begin() as session:
            if event_name == "installation":
                return await _installation(session, InstallationEvent.model_validate(event))
            if event_name == "installation_repositories":
                return await _repositories(session, InstallationRepositoriesEvent.model_validate(event))
            return f"ignored event {event_name}"

    summary = await guarded(ctx, None, work())  # a locked or unreachable database is retried with backoff
    if summary is not None:  # the duplicate index of each added repository is filled from its history
        backfills = await enqueue_backfills(ctx, *_added(event_name, event))
        summary += f"; {backfills} index backfills queued" if backfills else ""
    log.info("sync_installation delivery=%s: %s", delivery_id, summary)
    return summary or "failed"


async def _upsert_installation(
    session: AsyncSession, event: InstallationEvent | InstallationRepositoriesEvent, active: bool | None
) -> InstallationRow:
    assert event.installation is not None
    inst = event.installation
    row = await session.get(InstallationRow, inst.id)
    if row is None:
        row = InstallationRow(id=inst.id, account="", active=True)
        session.add(row)
    if inst.account is not None:
        row.account = inst.account.login
    if active is not None:
        row.active = active
    await session.flush()
    return row


async def _upsert_repo(
    session: AsyncSession, installation_id: int, repo: RepositoryRef, active: bool
) -> None:
    row = await session.get(RepositoryRow, repo.id)
    if row is None:
        session.add(
            RepositoryRow(
                id=repo.id, installation_id=installation_id, full_name=repo.full_name, active=active
            )
        )
        return
    row.installation_id, row.full_name, row.active = installation_id, repo.full_name, active


async def _installation(session: AsyncSession, event: InstallationEvent) -> str:
    action = event.action or ""
    active = ACTIVE_AFTER.get(action)
    row = await _upsert_installation(session, event, active)
    if action == "deleted":
        await _deactivate_all(session, row.id)
    for repo in event.repositories:
        await _upsert_repo(session, row.id, repo, action != "deleted")
    count = len(event.repositories)
    return f"installation {row.id} ({row.account}) {action}: active={row.active}, {count} repos"


async def _repositories(session: AsyncSession, event: InstallationRepositoriesEvent) -> str:
    row = await _upsert_installation(session, event, None)
    for repo in event.repositories_added:
        await _upsert_repo(session, row.id, repo, True)
    for repo in event.repositories_removed:
        await _upsert_repo(session, row.id, repo, False)
    added, removed = len(event.repositories_added), len(event.repositories_removed)
    return f"installation {row.id}: +{added} -{removed} repositories"


async def _deactivate_all(session: AsyncSession, installation_id: int) -> None:
    await session.execute(
        update(RepositoryRow).where(RepositoryRow.installation_id == installation_id).values(active=False)
    )


def _added(event_name: str, event: dict[str, Any]) -> tuple[int, list[str]]:
    """The installation and the repositories this event adds (installation.created, repositories added)."""
    if event_name == "installation" and event.get("action") == "created":
        added = InstallationEvent.model_validate(event).repositories
    elif event_name == "installation_repositories":
        added = InstallationRepositoriesEvent.model_validate(event).repositories_added
    else:
        return 0, []
    return int((event.get("installation") or {}).get("id", 0)), [repo.full_name for repo in added]
