"""Steward's own pull requests: a new push resets the review gate, closing ends the run."""

from __future__ import annotations

from app.constants import BRANCH_PREFIX, JOB_PULL_CLOSED, JOB_PULL_SYNC
from app.events import PullRequestEvent
from app.handlers.scope import in_repository
from app.router import Delivery, JobSpec, Router

PULL_SYNCHRONIZED = "pull_synchronized"
PULL_CLOSED = "pull_closed"

router = Router()


def _ours(delivery: Delivery[PullRequestEvent]) -> PullRequestEvent | None:
    """The event, when it is about a pull request from a `steward/...` branch of a repository."""
    event = delivery.payload
    if not in_repository(event, delivery):
        return None
    head = event.pull_request.head
    if head is None or not head.ref.startswith(f"{BRANCH_PREFIX}/"):
        delivery.ignore(f"not a pull request from a {BRANCH_PREFIX}/ branch")
        return None
    return event


def _spec(
    function: str, prefix: str, delivery: Delivery[PullRequestEvent], event: PullRequestEvent
) -> list[JobSpec]:
    pull, head = event.pull_request, event.pull_request.head
    assert event.repository is not None and head is not None
    job_id = f"{prefix}:{event.repository.id}:{pull.number}:{head.sha}"
    kwargs = {"delivery_id": delivery.delivery_id, "event": event.model_dump(mode="json")}
    return [JobSpec(function, job_id, kwargs)]


@router.register("pull_request", action="synchronize", model=PullRequestEvent)
def pull_synchronized(delivery: Delivery[PullRequestEvent]) -> list[JobSpec]:
    event = _ours(delivery)
    return _spec(PULL_SYNCHRONIZED, JOB_PULL_SYNC, delivery, event) if event else []


@router.register("pull_request", action="closed", model=PullRequestEvent)
def pull_closed(delivery: Delivery[PullRequestEvent]) -> list[JobSpec]:
    event = _ours(delivery)
    return _spec(PULL_CLOSED, JOB_PULL_CLOSED, delivery, event) if event else []
