"""Commands in a review: its body (with `pull_request_review`) and each line comment
(`pull_request_review_comment`) are read like a conversation comment, for `in_reviews` commands only."""

from __future__ import annotations

from typing import Any

from app.events import PullRequestReviewCommentEvent, PullRequestReviewEvent
from app.github.protocol import RepoId
from app.handlers.commands import might_hold_command
from jobs.context import settings_of
from jobs.handlers.comment import Said, answer_said

REVIEW = "review"
REVIEW_COMMENT = "review-comment"


def review_said(event: PullRequestReviewEvent, bot: str) -> Said | None:
    """The review's body as text to read, when it may hold a command written by someone other than Steward."""
    review, body = event.review, event.review.body or ""
    if event.installation is None or review.user is None or review.user.login.lower() == bot.lower():
        return None
    if not might_hold_command(body):
        return None
    return Said(
        event.installation.id, event.pull_request.number, True, review.user, body, review.id,
        review.html_url, REVIEW, review.id,
    )  # fmt: skip


async def review_body_commands(ctx: dict[str, Any], delivery_id: str, event: PullRequestReviewEvent) -> str:
    """Answer the commands of a submitted review's body ("no commands" when it holds none)."""
    said = review_said(event, settings_of(ctx).bot_login)
    if said is None or event.repository is None:
        return "no commands"
    repo = RepoId.parse(event.repository.full_name)
    return await answer_said(ctx, delivery_id, repo, said, "review_submitted")


async def handle_review_comment(ctx: dict[str, Any], delivery_id: str, event: dict[str, Any]) -> str:
    """Answer the commands of a new line comment of a review."""
    parsed = PullRequestReviewCommentEvent.model_validate(event)
    if parsed.installation is None or parsed.repository is None:
        return "ignored: no installation or repository"
    comment = parsed.comment
    if comment.user.login.lower() == settings_of(ctx).bot_login.lower():
        return "ignored: Steward's own comment"
    said = Said(
        parsed.installation.id, parsed.pull_request.number, True, comment.user, comment.body or "",
        comment.id, comment.html_url, REVIEW_COMMENT, comment.pull_request_review_id or 0,
    )  # fmt: skip
    repo = RepoId.parse(parsed.repository.full_name)
    return await answer_said(ctx, delivery_id, repo, said, "handle_review_comment")
