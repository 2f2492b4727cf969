"""A change lands: a merged pull request or an issue closed as completed may start a docs run (the worker
reads `workflows.docs.on`); Steward's own pull requests never do, so no run feeds on another."""

from __future__ import annotations

from dataclasses import dataclass

from app.constants import BRANCH_PREFIX, JOB_LANDED
from app.events import Account, IssuesEvent, PullRequestEvent
from app.handlers.scope import in_repository
from app.router import Delivery, JobSpec, Router

DOCS_ON_LANDED = "docs_on_landed"
MERGED = "merged"
CLOSED = "closed"
COMPLETED = "completed"
"""The `state_reason` of an issue closed as done (not `not_planned` or `duplicate`)."""


@dataclass(frozen=True)
class Landing:
    """What landed: the trigger's name in `workflows.docs.on`, the item, and who made it land."""

    trigger: str
    number: int
    is_pull_request: bool
    sender: Account | None
    closed_at: str


def landing_of(event: IssuesEvent | PullRequestEvent, bot_login: str) -> Landing | str:
    """The landing this closed event is, or why it is none (a short phrase for the answer header)."""
    if isinstance(event, PullRequestEvent):
        pull = event.pull_request
        if not pull.merged:
            return "a pull request closed without merging"
        author = pull.user.login.lower() if pull.user else ""
        head = pull.head.ref if pull.head else ""
        if head.startswith(f"{BRANCH_PREFIX}/") or author == bot_login.lower():
            return "a pull request Steward opened"
        return Landing(MERGED, pull.number, True, event.sender, pull.closed_at or "")
    issue = event.issue
    if issue.is_pull_request:
        return "a pull request's issue event"
    if issue.state_reason != COMPLETED:  # not_planned, duplicate, or none given
        return "an issue closed, but not as completed"
    return Landing(CLOSED, issue.number, False, event.sender, issue.closed_at or "")


def make_router(bot_login: str) -> Router:
    """The landing router; `bot_login` tells Steward's own pull requests apart."""
    router = Router()

    def landed(delivery: Delivery[IssuesEvent] | Delivery[PullRequestEvent]) -> list[JobSpec]:
        event = delivery.payload
        if not in_repository(event, delivery):
            return []
        found = landing_of(event, bot_login)
        if isinstance(found, str):
            return delivery.ignore(f"no docs run: {found}")
        kwargs = {
            "delivery_id": delivery.delivery_id,
            "event_name": delivery.event,
            "event": event.model_dump(mode="json"),
        }
        return [JobSpec(DOCS_ON_LANDED, f"{JOB_LANDED}:{delivery.delivery_id}", kwargs)]

    router.register("pull_request", action="closed", model=PullRequestEvent)(landed)
    router.register("issues", action="closed", model=IssuesEvent)(landed)
    return router
