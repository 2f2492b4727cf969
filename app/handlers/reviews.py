"""Reviews: a submitted review is handed to the review gate, which decides whether it approves a plan."""

from __future__ import annotations

from app.constants import JOB_REVIEW
from app.events import PullRequestReviewEvent
from app.handlers.scope import in_repository
from app.router import Delivery, JobSpec, Router

REVIEW_SUBMITTED = "review_submitted"

router = Router()


@router.register("pull_request_review", action="submitted", model=PullRequestReviewEvent)
def review_submitted(delivery: Delivery[PullRequestReviewEvent]) -> list[JobSpec]:
    event = delivery.payload
    if not in_repository(event, delivery):
        return []
    kwargs = {"delivery_id": delivery.delivery_id, "event": event.model_dump(mode="json")}
    return [JobSpec(REVIEW_SUBMITTED, f"{JOB_REVIEW}:{event.review.id}", kwargs)]
