"""A submitted review: validated and logged now; the review gate (a later issue) decides what it approves."""

from __future__ import annotations

import logging
from typing import Any

from app.events import PullRequestReviewEvent

log = logging.getLogger(__name__)


async def review_submitted(ctx: dict[str, Any], delivery_id: str, event: dict[str, Any]) -> str:
    """Read the review; nothing acts on it until the review gate exists."""
    review = PullRequestReviewEvent.model_validate(event)
    repo = review.repository.full_name if review.repository else "?"
    author = review.review.user.login if review.review.user else "?"
    number = review.pull_request.number
    summary = f"review {review.review.id} ({review.review.state}) by {author} on {repo}#{number}"
    log.info("review_submitted delivery=%s: %s", delivery_id, summary)
    return summary
