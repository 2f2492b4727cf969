"""The retry policy on its own: the waits it takes, the Retry-After it honours and where it gives up."""

from __future__ import annotations

import email.utils
import time

import httpx2
import pytest
import respx

from jobs.agent.retry import RetryingTransport, RetryPolicy, retry_after, retryable
from tests.model_mock import CHAT_URL, RespxWire, answer, failure

pytestmark = pytest.mark.anyio

POLICY = RetryPolicy(attempts=4, base_delay=0.5, max_delay=8.0, deadline=60.0)


async def send(router: respx.Router, policy: RetryPolicy = POLICY) -> tuple[int, list[float], list[int]]:
    """One request through the transport: the status it ends with, the waits it took, the attempts it saw."""
    waits: list[float] = []
    attempts: list[int] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    def clock() -> float:
        return sum(waits)  # time passes only while the transport waits

    transport = RetryingTransport(RespxWire(router), policy, attempts.append, sleep=sleep, clock=clock)
    async with httpx2.AsyncClient(transport=transport) as client:
        response = await client.post(CHAT_URL, json={"model": "m", "messages": []})
    return response.status_code, waits, attempts


async def test_the_backoff_doubles_with_jitter_and_never_exceeds_the_cap() -> None:
    router = respx.Router()
    router.post(CHAT_URL).mock(
        side_effect=[failure(503), failure(502), failure(500), answer("ok", prompt=1, completion=1)]
    )
    policy = RetryPolicy(attempts=4, base_delay=3.0, max_delay=8.0)
    status, waits, attempts = await send(router, policy)

    assert (status, attempts) == (200, [1, 2, 3, 4])
    for wait, full in zip(waits, [3.0, 6.0, 8.0], strict=True):
        assert 0.75 * full <= wait <= full


async def test_a_retry_after_within_the_cap_is_waited_out_exactly() -> None:
    router = respx.Router()
    router.post(CHAT_URL).mock(
        side_effect=[failure(429, retry_after="2"), answer("ok", prompt=1, completion=1)]
    )
    status, waits, _ = await send(router)
    assert (status, waits) == (200, [2.0])


async def test_a_retry_after_past_the_cap_makes_the_failure_final_at_once() -> None:
    router = respx.Router()
    route = router.post(CHAT_URL).mock(return_value=failure(429, retry_after="120"))
    status, waits, attempts = await send(router, RetryPolicy(attempts=4, max_delay=8.0, deadline=1000.0))
    assert (status, waits, attempts, route.call_count) == (429, [], [1], 1)


async def test_no_wait_may_end_past_the_deadline() -> None:
    router = respx.Router()
    route = router.post(CHAT_URL).mock(return_value=failure(503, retry_after="5"))
    status, waits, _ = await send(router, RetryPolicy(attempts=10, max_delay=8.0, deadline=12.0))
    assert (status, waits, route.call_count) == (503, [5.0, 5.0], 3)


async def test_the_attempts_bound_the_request() -> None:
    router = respx.Router()
    route = router.post(CHAT_URL).mock(return_value=failure(500))
    status, waits, attempts = await send(router)
    assert (status, len(waits), attempts, route.call_count) == (500, 3, [1, 2, 3, 4], 4)


def test_retry_after_is_read_in_milliseconds_seconds_or_as_a_date() -> None:
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    cases = {
        (("retry-after-ms", "1500"),): 1.5,
        (("retry-after", "3"),): 3.0,
        (("retry-after", "-4"),): 0.0,
        (("retry-after", "soon"),): None,
        (): None,
    }
    for headers, expected in cases.items():
        assert retry_after(httpx2.Headers(list(headers))) == expected, headers
    from_date = retry_after(httpx2.Headers({"retry-after": later}))
    assert from_date is not None and 28 <= from_date <= 30


def test_only_rate_limits_and_transient_server_errors_are_retried() -> None:
    assert [
        code for code in (200, 400, 401, 404, 408, 429, 500, 501, 502, 503, 504, 505, 529) if retryable(code)
    ] == [
        429,
        500,
        502,
        503,
        504,
        529,
    ]
