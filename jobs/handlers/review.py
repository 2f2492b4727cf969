"""A submitted review: the review gate decides whether it turns `steward/review` green, a "Request changes"
review may start a revision (where the workflow's `revise_on` says so), and its body's commands are answered
(`/steward revise` there is the revision asked for, so `revise_on` adds nothing to it)."""

from __future__ import annotations

import logging
from typing import Any

from app.events import PullRequestReviewEvent
from app.github.protocol import RepoId
from jobs.failures import ReportTo, guarded_text
from jobs.handlers.comment import ANSWERED
from jobs.handlers.review_commands import review_body_commands
from jobs.runs.gate import gate_review
from jobs.runs.revision.review import CHANGES_REQUESTED, revise_on_review

log = logging.getLogger(__name__)


async def review_submitted(ctx: dict[str, Any], delivery_id: str, event: dict[str, Any]) -> str:
    """Hand the review to the gate; transient failures retry, final ones are told on the pull request."""
    review = PullRequestReviewEvent.model_validate(event)
    where = None
    if review.installation is not None and review.repository is not None:
        repo = RepoId.parse(review.repository.full_name)
        where = ReportTo(review.installation.id, repo, review.pull_request.number, "the review gate")
    said = await review_body_commands(ctx, delivery_id, review) if where is not None else "no commands"
    asked = said.startswith(ANSWERED)
    changes = review.review.state.lower() == CHANGES_REQUESTED
    if changes and asked:
        outcome = said
    else:
        work = revise_on_review(ctx, delivery_id, review) if changes else gate_review(ctx, review)
        outcome = await guarded_text(ctx, where, work)
        outcome = outcome if said == "no commands" else f"{outcome}; {said}"
    author = review.review.user.login if review.review.user else "?"
    repo_name = review.repository.full_name if review.repository else "?"
    where_at = f"{repo_name}#{review.pull_request.number}"
    summary = f"review {review.review.id} ({review.review.state}) by {author} on {where_at}"
    log.info("review_submitted delivery=%s: %s: %s", delivery_id, summary, outcome)
    return outcome
