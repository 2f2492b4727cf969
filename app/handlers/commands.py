"""Slash-commands: a new comment may hold commands; the worker parses, authorises and answers them."""

from __future__ import annotations

import logging

from app.constants import JOB_COMMENT
from app.events import IssueCommentEvent
from app.handlers.scope import in_repository
from app.router import Delivery, JobSpec, Router

log = logging.getLogger("steward.handlers")

HANDLE_COMMENT = "handle_comment"


def make_router(bot_login: str) -> Router:
    """The comment router; `bot_login` is Steward's own account, whose comments are never commands."""
    router = Router()

    @router.register("issue_comment", action="created")
    def comment_created(delivery: Delivery) -> list[JobSpec]:
        event = IssueCommentEvent.model_validate(delivery.payload)
        if not in_repository(event, delivery):
            return []
        assert event.repository is not None
        author = event.comment.user
        if author.is_bot or author.login.lower() == bot_login.lower():
            log.info("ignored comment by bot %s delivery=%s", author.login, delivery.delivery_id)
            return []
        job_id = f"{JOB_COMMENT}:{event.repository.id}:{event.comment.id}"
        kwargs = {"delivery_id": delivery.delivery_id, "event": event.model_dump(mode="json")}
        return [JobSpec(HANDLE_COMMENT, job_id, kwargs)]

    return router
