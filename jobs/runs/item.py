"""What a run is about, built once by the lifecycle for every workflow: the issue or pull request, the words
after the command, the paths it names, and the files in play."""

from __future__ import annotations

import logging

from app.github.errors import GitHubRefused
from app.github.protocol import IssueRecord, RepoId, RunGitHubClient
from jobs.ledger import RunView
from jobs.runs.workflow import WorkItem

log = logging.getLogger(__name__)

MAX_LINKED_PULLS = 3
"""On an issue, the changed files of at most this many of the pull requests linked to it (the oldest)."""
MAX_CHANGED_FILES = 300
"""At most this many changed files in a work item, however many the pull requests touch."""
UNREADABLE = frozenset({403, 404, 410, 422})
"""GitHub's answers that mean "no such list here" (a deleted PR, a hidden timeline): no files, no failure."""


async def changed_files(gh: RunGitHubClient, repo: RepoId, issue: IssueRecord) -> tuple[str, ...]:
    """On a pull request, the files it changes; on an issue, those of the pull requests linked to it."""
    try:
        if issue.is_pull_request:
            pulls = [issue.number]
        else:
            pulls = await gh.linked_pulls(repo, issue.number, MAX_LINKED_PULLS)
        found: dict[str, None] = {}
        for number in pulls[:MAX_LINKED_PULLS]:
            left = MAX_CHANGED_FILES - len(found)
            if left <= 0:
                break
            found |= dict.fromkeys(await gh.pull_files(repo, number, left))
    except GitHubRefused as exc:
        if exc.status not in UNREADABLE:
            raise
        log.info("no changed files for %s#%s: GitHub answered %s", repo.full_name, issue.number, exc.status)
        return ()
    return tuple(list(found)[:MAX_CHANGED_FILES])


async def work_item(gh: RunGitHubClient, repo: RepoId, issue: IssueRecord, run: RunView) -> WorkItem:
    """The run's item on GitHub, as both the plan and the work step read it."""
    return WorkItem(
        issue=issue,
        instructions=run.instructions,
        paths=tuple(run.paths),
        changed_files=await changed_files(gh, repo, issue),
    )
