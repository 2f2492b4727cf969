"""Duplicate index upkeep: edits, closes, reopens, deletions, transfers, labels, "Duplicate of #N" comments,
and new commits on a pull request (its changed files).

Opened items reach the index through triage (app/handlers/duplicates.py), which indexes before it ranks.
"""

from __future__ import annotations

from app.constants import JOB_INDEX
from app.events import IssueCommentEvent, IssuesEvent, PullRequestEvent
from app.handlers.scope import in_repository
from app.router import Delivery, JobSpec, Router

INDEX_EVENT = "index_event"
ISSUE_ACTIONS = ("edited", "closed", "reopened", "deleted", "transferred", "labeled", "unlabeled")
PULL_ACTIONS = ("edited", "closed", "reopened", "synchronize")
"""`synchronize`: new commits; the worker fetches the changed files again where the index holds them."""
DUPLICATE_PHRASE = "duplicate of"
"""Comments without it cannot name an original; the worker reads the exact "Duplicate of #N" line."""

router = Router()


def _spec(
    delivery: Delivery[IssuesEvent] | Delivery[PullRequestEvent] | Delivery[IssueCommentEvent],
) -> list[JobSpec]:
    event = delivery.payload
    if not in_repository(event, delivery):
        return []
    kwargs = {
        "delivery_id": delivery.delivery_id,
        "event_name": delivery.event,
        "event": event.model_dump(mode="json"),
    }
    return [JobSpec(INDEX_EVENT, f"{JOB_INDEX}:{delivery.delivery_id}", kwargs)]


def issue_changed(delivery: Delivery[IssuesEvent]) -> list[JobSpec]:
    return _spec(delivery)


def pull_changed(delivery: Delivery[PullRequestEvent]) -> list[JobSpec]:
    return _spec(delivery)


for _action in ISSUE_ACTIONS:
    router.register("issues", action=_action, model=IssuesEvent)(issue_changed)
for _action in PULL_ACTIONS:
    router.register("pull_request", action=_action, model=PullRequestEvent)(pull_changed)


@router.register("issue_comment", action="created", model=IssueCommentEvent)
def duplicate_comment(delivery: Delivery[IssueCommentEvent]) -> list[JobSpec]:
    """Only human comments that may say "Duplicate of #N" (bot comments never become jobs)."""
    comment = delivery.payload.comment
    if comment.user.is_bot or DUPLICATE_PHRASE not in (comment.body or "").lower():
        return delivery.ignore(f'not a person\'s comment saying "{DUPLICATE_PHRASE}"')
    return _spec(delivery)
