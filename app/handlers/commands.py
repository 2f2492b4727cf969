"""Slash-commands: a new comment may hold commands; the worker parses, authorises and answers them."""

from __future__ import annotations

import logging

from app.constants import JOB_COMMENT
from app.events import IssueCommentEvent
from app.handlers.scope import in_repository
from app.router import Delivery, JobSpec, Router

log = logging.getLogger("steward.handlers")

HANDLE_COMMENT = "handle_comment"


def might_hold_command(body: str) -> bool:
    """Whether any line starts with "/" (every prefix does), so the worker must read the comment."""
    return any(line.lstrip().startswith("/") for line in body.splitlines())


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
            return []  # Steward's own comment
        if author.is_bot and not might_hold_command(event.comment.body or ""):
            # Other bots may be allowed by a repository's `allowed_bots`, which only the worker can read;
            # the edge drops just the bot comments that cannot hold a command under any prefix.
            log.info("ignored comment by bot %s delivery=%s", author.login, delivery.delivery_id)
            return []
        job_id = f"{JOB_COMMENT}:{event.repository.id}:{event.comment.id}"
        kwargs = {"delivery_id": delivery.delivery_id, "event": event.model_dump(mode="json")}
        return [JobSpec(HANDLE_COMMENT, job_id, kwargs)]

    return router
