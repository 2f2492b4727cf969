"""Maps (event, action) to handlers; each behaviour module registers on its own router, composed once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from app.events import Envelope


@dataclass(frozen=True)
class JobSpec:
    """One arq job the edge asks for: function name, deterministic id, JSON-ready keyword arguments."""

    function: str
    job_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """A verified webhook delivery, as handlers see it."""

    event: str
    delivery_id: str
    payload: dict[str, Any]
    envelope: Envelope


Handler = Callable[[Delivery], Iterable[JobSpec]]


class Router:
    """A registry of pure handlers: they read a delivery and return the jobs to enqueue, doing no I/O."""

    def __init__(self, *routers: Router) -> None:
        self._handlers: dict[tuple[str, str | None], list[Handler]] = {}
        for other in routers:
            for key, handlers in other._handlers.items():
                self._handlers.setdefault(key, []).extend(handlers)

    def register(self, event: str, action: str | None = None) -> Callable[[Handler], Handler]:
        """Route `event` (and `action`, or every action when None) to the decorated handler."""

        def decorate(handler: Handler) -> Handler:
            self._handlers.setdefault((event, action), []).append(handler)
            return handler

        return decorate

    def handlers_for(self, event: str, action: str | None) -> list[Handler]:
        return [*self._handlers.get((event, action), []), *self._handlers.get((event, None), [])]

    def dispatch(self, delivery: Delivery) -> list[JobSpec]:
        jobs: list[JobSpec] = []
        for handler in self.handlers_for(delivery.event, delivery.envelope.action):
            jobs.extend(handler(delivery))
        return jobs

    def routes(self) -> list[tuple[str, str | None]]:
        return sorted(self._handlers, key=lambda k: (k[0], k[1] or ""))
