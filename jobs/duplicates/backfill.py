"""Fill a repository's index from GitHub page by page, remembering the next page so a restart resumes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from app.github.errors import GitHubRefused
from app.github.protocol import GitHubClient, IssueRecord, RepoId
from jobs.duplicates.store import Sessions, upsert_items
from jobs.models.issue_index import FILES_MAX, IndexBackfillRow

PER_PAGE = 100
PAGES_PER_JOB = 50
"""Pages one job fetches before it re-queues itself: keeps jobs short and lets other repositories in."""
SECONDS_PER_JOB = 120.0
"""Nor does a job start a new page after this long: with embeddings a page of 100 takes about 5 s on 2 cores,
so 50 pages would overrun the job's budget (jobs.context.quick_job_budget) and stop before re-queuing."""
PULLS_WITH_FILES_PER_PAGE = 10
"""Pull requests of a page whose changed files are fetched (one call each, at most FILES_MAX paths): the
decision's file overlap for the history, at a bounded cost of 10 calls per page of 100."""


@dataclass(frozen=True)
class BackfillProgress:
    repo: str
    next_page: int
    items: int
    done: bool


async def _cursor(sessions: Sessions, repo: str) -> IndexBackfillRow:
    async with sessions.begin() as session:
        row = await session.get(IndexBackfillRow, repo)
        if row is None:
            row = IndexBackfillRow(repo=repo, next_page=1, items=0, done=False)
            session.add(row)
        return row


async def restart(sessions: Sessions, repo: str) -> None:
    """Start over at page 1 (a repository added again, an index to rebuild); rows are refreshed, not lost."""
    async with sessions.begin() as session:
        row = await session.get(IndexBackfillRow, repo)
        if row is not None:
            row.next_page, row.items, row.done, row.finished_at = 1, 0, False, None


async def backfill(
    gh: GitHubClient,
    sessions: Sessions,
    repo: RepoId,
    *,
    per_page: int = PER_PAGE,
    max_pages: int = PAGES_PER_JOB,
    max_seconds: float = SECONDS_PER_JOB,
) -> BackfillProgress:
    """Index up to max_pages more pages, starting none after max_seconds; each page commits with its cursor,
    so a crash loses one page at most.

    GitHub's RateLimited (and other transient errors) propagate with the cursor saved: the job re-queues.
    """
    cursor = await _cursor(sessions, repo.full_name)
    page, items, done = cursor.next_page, cursor.items, cursor.done
    fetched = 0
    stop_at = time.monotonic() + max_seconds
    while not done and fetched < max_pages and (fetched == 0 or time.monotonic() < stop_at):
        result = await gh.list_issues(repo, page, per_page)
        await add_files(gh, repo, result.items)
        await upsert_items(sessions, repo.full_name, result.items)
        fetched += 1
        page, items, done = page + 1, items + len(result.items), not result.has_next or not result.items
        async with sessions.begin() as session:
            row = await session.get(IndexBackfillRow, repo.full_name)
            assert row is not None
            row.next_page, row.items, row.done = page, items, done
            if done:
                row.finished_at = datetime.now(UTC)
    return BackfillProgress(repo.full_name, page, items, done)


async def add_files(
    gh: GitHubClient, repo: RepoId, items: list[IssueRecord], most: int = PULLS_WITH_FILES_PER_PAGE
) -> int:
    """Fetch the changed files of the page's first `most` pull requests (issue lists lack them); a PR GitHub
    refuses (gone, no access) keeps none. Returns how many were fetched."""
    fetched = 0
    for record in items:
        if fetched >= most:
            break
        if not record.is_pull_request or record.files is not None:
            continue
        fetched += 1
        try:
            record.files = await gh.pull_files(repo, record.number, FILES_MAX)
        except GitHubRefused:
            continue
    return fetched
