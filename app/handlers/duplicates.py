"""Duplicate triage: a new issue or pull request is queued; the worker checks the repository enables it."""

from __future__ import annotations

from app.constants import JOB_TRIAGE
from app.events import IssuesEvent, PullRequestEvent
from app.handlers.scope import in_repository
from app.router import Delivery, JobSpec, Router

TRIAGE_DUPLICATES = "triage_duplicates"

router = Router()


def _triage(
    delivery: Delivery[IssuesEvent] | Delivery[PullRequestEvent],
    event: IssuesEvent | PullRequestEvent,
    number: int,
    kind: str,
) -> list[JobSpec]:
    if not in_repository(event, delivery):
        return []
    assert event.repository is not None
    kwargs = {"delivery_id": delivery.delivery_id, "event": event.model_dump(mode="json"), "kind": kind}
    return [JobSpec(TRIAGE_DUPLICATES, f"{JOB_TRIAGE}:{event.repository.id}:{number}", kwargs)]


@router.register("issues", action="opened", model=IssuesEvent)
def issue_opened(delivery: Delivery[IssuesEvent]) -> list[JobSpec]:
    event = delivery.payload
    return _triage(delivery, event, event.issue.number, "issue")


@router.register("pull_request", action="opened", model=PullRequestEvent)
def pull_request_opened(delivery: Delivery[PullRequestEvent]) -> list[JobSpec]:
    event = delivery.payload
    return _triage(delivery, event, event.pull_request.number, "pull_request")
