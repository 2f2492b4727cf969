"""Slash-commands: a new comment, or a line comment of a review, may hold commands; the worker parses,
authorises and answers them (a review's own body reaches it with the review, app/handlers/reviews.py)."""

from __future__ import annotations

import re

from app.constants import JOB_COMMENT, JOB_REVIEW_COMMENT
from app.events import IssueCommentEvent, PullRequestReviewCommentEvent
from app.handlers.scope import in_repository
from app.router import Delivery, JobSpec, Router

HANDLE_COMMENT = "handle_comment"
HANDLE_REVIEW_COMMENT = "handle_review_comment"


_SLASH_STARTS_A_LINE = re.compile(r"(?:\A|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029])\s*/")
"""A "/" after only white space at the start of a line (str.splitlines' line ends), found without a list of
lines: the receiver holds a large comment once, not twice."""


def might_hold_command(body: str) -> bool:
    """Whether any line starts with "/" (every prefix does), so the worker must read the comment."""
    return _SLASH_STARTS_A_LINE.search(body) is not None


def make_router(bot_login: str) -> Router:
    """The comment router; `bot_login` is Steward's own account, whose comments are never commands."""
    router = Router()

    @router.register("issue_comment", action="created", model=IssueCommentEvent)
    def comment_created(delivery: Delivery[IssueCommentEvent]) -> list[JobSpec]:
        event = delivery.payload
        if not in_repository(event, delivery):
            return []
        assert event.repository is not None
        author = event.comment.user
        if author.login.lower() == bot_login.lower():
            return delivery.ignore("Steward's own comment")
        if not might_hold_command(event.comment.body or ""):
            # Most comments are conversation: without a line starting with "/" no prefix can match, so the
            # worker would mint a token and read the config only to find no command. Bots' comments that
            # may hold one still go to the worker, where a repository's `allowed_bots` is read.
            return delivery.ignore('no line of the comment starts with "/"')
        job_id = f"{JOB_COMMENT}:{event.repository.id}:{event.comment.id}"
        kwargs = {"delivery_id": delivery.delivery_id, "event": event.model_dump(mode="json")}
        return [JobSpec(HANDLE_COMMENT, job_id, kwargs)]

    @router.register("pull_request_review_comment", action="created", model=PullRequestReviewCommentEvent)
    def review_comment_created(delivery: Delivery[PullRequestReviewCommentEvent]) -> list[JobSpec]:
        event = delivery.payload
        if not in_repository(event, delivery):
            return []
        assert event.repository is not None
        if event.comment.user.login.lower() == bot_login.lower():
            return delivery.ignore("Steward's own comment")
        if not might_hold_command(event.comment.body or ""):
            return delivery.ignore('no line of the comment starts with "/"')
        job_id = f"{JOB_REVIEW_COMMENT}:{event.repository.id}:{event.comment.id}"
        kwargs = {"delivery_id": delivery.delivery_id, "event": event.model_dump(mode="json")}
        return [JobSpec(HANDLE_REVIEW_COMMENT, job_id, kwargs)]

    return router
