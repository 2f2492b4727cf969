"""Model HTTP retried with bounded backoff, every attempt shown to a hook that may refuse it (the budget)."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx2

log = logging.getLogger(__name__)

AttemptHook = Callable[[int], None]
"""Called before each HTTP attempt at a model request with its number (1 is the first try, 2 the first retry).
It may raise to refuse the attempt: the exception ends the request, and the run, as it is."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one model request is tried before its failure is final."""

    attempts: int = 3
    """HTTP attempts per model request, the first one included."""
    base_delay: float = 0.5
    """The wait before the first retry; it doubles for each retry after it."""
    max_delay: float = 8.0
    """The longest single wait. A Retry-After longer than this is not waited out: the failure is final."""
    deadline: float = 60.0
    """Seconds after the first attempt past which no wait may end, so no retry starts later."""
    attempt_timeout: float = 300.0
    """Seconds one attempt may take to answer (a local model can be slow to write a long answer)."""


RETRY_POLICY = RetryPolicy()


def retryable(status: int) -> bool:
    """A rate limit or a transient server failure; 501 and 505 say the endpoint will never do it."""
    return status == 429 or (status >= 500 and status not in (501, 505))


def retry_after(headers: httpx2.Headers) -> float | None:
    """The wait the server asked for, in seconds: `retry-after-ms`, `retry-after` seconds or an HTTP date."""
    for header, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value) / scale
        except ValueError:
            continue
        return None if math.isnan(seconds) else max(seconds, 0.0)
    when = headers.get("retry-after")
    if when is None:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(when)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


class RetryingTransport(httpx2.AsyncBaseTransport):
    """Resends a request the model endpoint answered with 429 or a transient 5xx, within a RetryPolicy."""

    def __init__(
        self,
        wrapped: httpx2.AsyncBaseTransport,
        policy: RetryPolicy = RETRY_POLICY,
        on_attempt: AttemptHook | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._wrapped = wrapped
        self._policy = policy
        self._on_attempt = on_attempt
        self._sleep = sleep
        self._clock = clock

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        started = self._clock()
        attempt = 1
        while True:
            if self._on_attempt is not None:
                self._on_attempt(attempt)
            response = await self._wrapped.handle_async_request(request)
            wait = self._wait(response, attempt, self._clock() - started)
            if wait is None:
                return response
            await response.aclose()
            log.info(
                "model endpoint answered %d; attempt %d of %d in %.2fs",
                response.status_code,
                attempt + 1,
                self._policy.attempts,
                wait,
            )
            await self._sleep(wait)
            attempt += 1

    def _wait(self, response: httpx2.Response, attempt: int, elapsed: float) -> float | None:
        """Seconds to wait before the next attempt, or None when this answer is the final one."""
        policy = self._policy
        if not retryable(response.status_code) or attempt >= policy.attempts:
            return None
        asked = retry_after(response.headers)
        if asked is not None and asked > policy.max_delay:
            return None
        if asked is None:
            backoff = min(policy.base_delay * 2 ** (attempt - 1), policy.max_delay)
            asked = backoff * (1 - 0.25 * random.random())  # jitter, so workers sharing a limit spread out
        return None if elapsed + asked > policy.deadline else asked

    async def aclose(self) -> None:
        await self._wrapped.aclose()
