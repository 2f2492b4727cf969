"""An edited item's duplicates comment is brought up to date: updated in place, never a second one."""

from __future__ import annotations

from typing import Any

from app.config.loader import load_repo_config
from app.constants import MARKER_DUPLICATES
from app.github.comments import find_marked
from app.github.protocol import GitHubClient, RepoId
from jobs.duplicates.live import IndexCache
from jobs.duplicates.store import Sessions
from jobs.duplicates.triage import triage


async def retriage_on_edit(
    gh: GitHubClient,
    sessions: Sessions,
    index: IndexCache,
    repo: RepoId,
    number: int,
    *,
    bot_login: str,
    redis: Any = None,
) -> str:
    """Rerun triage only where Steward already commented, so an edit never starts a new conversation."""
    if await find_marked(gh, repo, number, MARKER_DUPLICATES, bot_login) is None:
        return "no duplicates comment to update"
    loaded = await load_repo_config(gh, repo, redis)
    config = loaded.config.workflows.duplicates
    if not config.enabled:
        return "duplicate triage is disabled"
    result = await triage(
        gh,
        sessions,
        index,
        repo,
        number,
        config,
        bot_login=bot_login,
        prefix=loaded.config.prefix,
        redis=redis,
    )
    return f"comment updated: {result.summary}"
