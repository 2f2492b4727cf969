"""Maps (event, action) to handlers; each behaviour module registers on its own router, composed once.

The edge parses a delivery's body once, straight into its event's lenient model (`Router.model_for`: the
`model=` given at registration, else `EVENT_MODELS`, else `Envelope`), and routes on that model's `action`.
Handlers receive it as `delivery.payload` and must not re-parse: `Delivery[IssueCommentEvent]` is typed so.
A handler for an event not in `EVENT_MODELS` declares its model: `register("check_run", "completed",
model=CheckRunEvent)` (every registration for one event must name the same model).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from app.events import (
    Envelope,
    InstallationEvent,
    InstallationRepositoriesEvent,
    IssueCommentEvent,
    IssuesEvent,
    PullRequestEvent,
    PullRequestReviewCommentEvent,
    PullRequestReviewEvent,
)

EVENT_MODELS: dict[str, type[Envelope]] = {
    "issue_comment": IssueCommentEvent,
    "issues": IssuesEvent,
    "pull_request": PullRequestEvent,
    "pull_request_review": PullRequestReviewEvent,
    "pull_request_review_comment": PullRequestReviewCommentEvent,
    "installation": InstallationEvent,
    "installation_repositories": InstallationRepositoriesEvent,
}
"""The model each event's body is parsed into, unless a registration names another."""

E = TypeVar("E", bound=Envelope)


@dataclass(frozen=True)
class JobSpec:
    """One arq job the edge asks for: function name, deterministic id, JSON-ready keyword arguments."""

    function: str
    job_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery(Generic[E]):
    """A verified webhook delivery, as handlers see it: `payload` is already the event's lenient model."""

    event: str
    delivery_id: str
    payload: E
    reasons: list[str] = field(default_factory=list, compare=False)
    """Why handlers passed the delivery by: the receiver's X-Steward-Reason when no job is queued."""

    def ignore(self, reason: str) -> list[JobSpec]:
        """No job for this delivery, and why (a short constant phrase: it goes into an answer header)."""
        self.reasons.append(reason)
        return []

    @property
    def envelope(self) -> Envelope:
        """The fields every event shares (the payload itself: every event model is an Envelope)."""
        return self.payload


Handler = Callable[[Delivery[Any]], Iterable[JobSpec]]


class Router:
    """A registry of pure handlers: they read a delivery and return the jobs to enqueue, doing no I/O."""

    def __init__(self, *routers: Router) -> None:
        self._handlers: dict[tuple[str, str | None], list[Handler]] = {}
        self._models: dict[str, type[Envelope]] = {}
        self._events: set[str] = set()
        """Every event with a model or a handler."""
        for other in routers:
            self._events |= other._events
            for event, model in other._models.items():
                self._declare(event, model)
            for key, handlers in other._handlers.items():
                self._handlers.setdefault(key, []).extend(handlers)

    def _declare(self, event: str, model: type[Envelope]) -> None:
        known = self._models.setdefault(event, model)
        self._events.add(event)
        if known is not model:
            raise ValueError(f"{event} is parsed as {known.__name__}; a handler asked for {model.__name__}")

    def register(
        self, event: str, action: str | None = None, *, model: type[Envelope] | None = None
    ) -> Callable[[Handler], Handler]:
        """Route `event` (and `action`, or every action when None) to the decorated handler.

        `model`: the lenient model the handler's `delivery.payload` is parsed into (default: EVENT_MODELS).
        """
        if model is not None:
            self._declare(event, model)

        def decorate(handler: Handler) -> Handler:
            self._handlers.setdefault((event, action), []).append(handler)
            self._events.add(event)
            return handler

        return decorate

    def model_for(self, event: str) -> type[Envelope]:
        """The model a delivery of `event` is parsed into, once, before routing."""
        return self._models.get(event) or EVENT_MODELS.get(event, Envelope)

    def knows(self, event: str) -> bool:
        """Whether `event` is one Steward reads or routes (what a metric may name; others are `other`)."""
        return event in self._events or event in EVENT_MODELS

    def handlers_for(self, event: str, action: str | None) -> list[Handler]:
        return [*self._handlers.get((event, action), []), *self._handlers.get((event, None), [])]

    def dispatch(self, delivery: Delivery[Any]) -> list[JobSpec]:
        jobs: list[JobSpec] = []
        for handler in self.handlers_for(delivery.event, delivery.payload.action):
            jobs.extend(handler(delivery))
        return jobs

    def routes(self) -> list[tuple[str, str | None]]:
        return sorted(self._handlers, key=lambda k: (k[0], k[1] or ""))
