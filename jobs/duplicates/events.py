"""Keep the index current from webhooks: opened, edited, closed, reopened, deleted, transferred, commented."""

from __future__ import annotations

import re
from typing import Any

from app.github.errors import GitHubRefused
from app.github.protocol import GitHubClient, IssueRecord, RepoId
from app.github.records import issue_record
from jobs.duplicates import store
from jobs.duplicates.store import Sessions
from jobs.models.issue_index import FILES_MAX

DUPLICATE_OF = re.compile(r"^\s*duplicate of\s+#(\d+)\b", re.I | re.M)
"""GitHub's own convention for marking a duplicate in a comment."""
UPSERT_ACTIONS = frozenset(
    {"opened", "edited", "closed", "reopened", "labeled", "unlabeled", "synchronize", "ready_for_review"}
)


def duplicate_target(text: str) -> int | None:
    """The original named by the last 'Duplicate of #N' line of a comment."""
    found = DUPLICATE_OF.findall(text or "")
    return int(found[-1]) if found else None


async def apply_event(
    sessions: Sessions, gh: GitHubClient | None, event: str, payload: dict[str, Any]
) -> str:
    """Apply one delivery to the index; returns what changed (for the job log)."""
    action = str(payload.get("action", ""))
    repo = str((payload.get("repository") or {}).get("full_name", ""))
    item = payload.get("pull_request") if event == "pull_request" else payload.get("issue")
    if not repo or not isinstance(item, dict) or "number" not in item:
        return "ignored: no repository or item"
    number = int(item["number"])
    if event == "issue_comment":
        return await _comment(sessions, repo, item, payload, action)
    if action == "deleted":
        gone = await store.delete_item(sessions, repo, number)
        return f"deleted #{number}" if gone else f"#{number} was not indexed"
    if action == "transferred":
        changes = payload.get("changes") or {}
        new_repo = (changes.get("new_repository") or {}).get("full_name")
        new_issue = changes.get("new_issue")
        record = issue_record(new_issue) if isinstance(new_issue, dict) and new_repo else None
        await store.transfer_item(sessions, repo, number, new_repo, record)
        return f"transferred #{number} to {new_repo or 'elsewhere'}"
    if action not in UPSERT_ACTIONS:
        return f"ignored: {event}.{action}"
    record = issue_record(item)
    record.is_pull_request = record.is_pull_request or event == "pull_request"
    refreshed = ""
    if action == "synchronize" and gh is not None:
        refreshed = await _refresh_files(gh, RepoId.parse(repo), record)
    await store.upsert_item(sessions, repo, record)
    if action == "closed" and item.get("state_reason") == "duplicate" and gh is not None:
        original = await _named_original(gh, RepoId.parse(repo), number)
        if original is not None:
            await store.record_feedback(
                sessions,
                repo,
                number,
                original,
                duplicate=True,
                source="close_reason",
                actor=_sender(payload),
            )
            return f"indexed #{number}; closed as duplicate of #{original}"
    return f"indexed #{number} ({action}){refreshed}"


async def _refresh_files(gh: GitHubClient, repo: RepoId, record: IssueRecord) -> str:
    """New commits change a pull request's files: fetch them again (one bounded page, as at open time); a
    refusal keeps the files known before."""
    try:
        record.files = await gh.pull_files(repo, record.number, FILES_MAX)
    except GitHubRefused as exc:
        return f"; files kept (GitHub refused: {exc.status})"
    return f"; {len(record.files)} changed files refreshed"


async def _named_original(gh: GitHubClient, repo: RepoId, number: int) -> int | None:
    """The newest 'Duplicate of #N' among the item's comments."""
    for comment in reversed(await gh.list_comments(repo, number)):
        target = duplicate_target(comment.body)
        if target is not None:
            return target
    return None


async def _comment(
    sessions: Sessions, repo: str, item: dict[str, Any], payload: dict[str, Any], action: str
) -> str:
    """'Duplicate of #N' commented on a closed item records the pair (an open one waits for its close)."""
    comment = payload.get("comment") or {}
    target = duplicate_target(str(comment.get("body") or "")) if action == "created" else None
    if target is None or item.get("state") != "closed":
        return "ignored: no duplicate link on a closed item"
    number = int(item["number"])
    await store.record_feedback(
        sessions, repo, number, target, duplicate=True, source="comment", actor=_sender(payload)
    )
    return f"#{number} linked as duplicate of #{target}"


def _sender(payload: dict[str, Any]) -> str:
    return str((payload.get("sender") or {}).get("login", ""))
