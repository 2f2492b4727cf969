"""GitHub's answers, counted: every response by status, and the rate limit left (httpx event hooks)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from app.observability.metrics import GITHUB_RATE_REMAINING, GITHUB_REQUESTS, bounded

Hooks = dict[str, list[Callable[..., Awaitable[None]]]]
NO_RESPONSE = "error"
"""The status label of a request that got no answer (a timeout, a refused connection)."""
DEFAULT_RESOURCE = "core"
"""GitHub's REST rate-limit bucket when a response does not name one."""


async def observe(response: httpx.Response) -> None:
    """The `response` hook: count it, and keep its X-RateLimit-Remaining."""
    status = response.status_code
    GITHUB_REQUESTS.labels(str(status) if 100 <= status <= 599 else bounded(None)).inc()
    remaining = response.headers.get("x-ratelimit-remaining")
    if remaining is not None and remaining.isdigit():
        resource = bounded(response.headers.get("x-ratelimit-resource", DEFAULT_RESOURCE))
        GITHUB_RATE_REMAINING.labels(resource).set(int(remaining))


def no_response() -> None:
    """Count a request that failed without an answer."""
    GITHUB_REQUESTS.labels(NO_RESPONSE).inc()


def hooks() -> Hooks:
    """githubkit's `async_event_hooks` for every client Steward makes."""
    return {"response": [observe]}
