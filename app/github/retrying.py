"""Bounded retries around one GitHub request: short waits inside the job, long ones become a re-queue."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import anyio
from githubkit import GitHub
from githubkit.exception import RateLimitExceeded, RequestError, RequestFailed, RequestTimeout
from githubkit.response import Response

from app.github.errors import GitHubRefused, GitHubUnavailable, RateLimited
from app.observability import tracing
from app.observability.github import no_response

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How long a request may wait inside a job before the job re-queues itself instead."""

    max_tries: int = 3
    """Attempts per request, counting the first."""
    backoff: float = 1.0
    """Wait before the second attempt; doubled for each later one (1 s + 2 s = 3 s at most by default)."""
    max_rate_wait: float = 10.0
    """A rate limit that resets sooner than this is waited out; a later one raises RateLimited."""


DEFAULT_POLICY = RetryPolicy()


def _path(request_url: str) -> str:
    return request_url.split("?", 1)[0]


async def request(
    gh: GitHub[Any], method: str, url: str, policy: RetryPolicy = DEFAULT_POLICY, **kwargs: Any
) -> Response[Any]:
    """One REST call: 5xx and transport errors retried with doubling waits, rate limits waited or raised."""
    attempt = 0
    repeatable = may_repeat(method, url)
    while True:
        attempt += 1
        last = attempt >= policy.max_tries
        try:
            with tracing.span(f"github {method}", {"http.request.method": method, "url.path": _path(url)}):
                return await gh.arequest(method, url, **kwargs)
        except RateLimitExceeded as exc:
            wait = max(exc.retry_after.total_seconds(), 1.0)
            if wait > policy.max_rate_wait or last:
                raise RateLimited(wait) from None
            log.warning("GitHub rate limit on %s %s; waiting %.1fs", method, _path(url), wait)
            await anyio.sleep(wait)
        except RequestFailed as exc:
            status = exc.response.status_code
            if status < 500:
                raise GitHubRefused(status, method, _path(url), _message(exc)) from None
            if last or not repeatable:
                raise GitHubUnavailable(f"GitHub answered {status} to {method} {_path(url)}") from None
            await _backoff(policy, attempt, f"{status} on {method} {_path(url)}")
        except (RequestTimeout, RequestError) as exc:
            no_response()
            if last or not repeatable:
                raise GitHubUnavailable(f"cannot reach GitHub for {method} {_path(url)}") from None
            await _backoff(policy, attempt, f"{type(exc).__name__} on {method} {_path(url)}")


REPEATABLE_POSTS = ("/access_tokens", "/labels")
"""POSTs whose second try changes nothing the first did not (a token, a set of labels)."""


def may_repeat(method: str, url: str) -> bool:
    """Whether a request lost to a 5xx or the network may be sent again at once. A creating POST may not: the
    5xx can come after GitHub made the comment or pull request, so a resend makes a second one (a 422 for a
    PR). It raises GitHubUnavailable instead; the job retries, and each effect looks before it acts."""
    return method.upper() != "POST" or _path(url).endswith(REPEATABLE_POSTS)


async def _backoff(policy: RetryPolicy, attempt: int, what: str) -> None:
    wait = policy.backoff * 2 ** (attempt - 1)
    log.warning("GitHub transient failure (%s); retrying in %.1fs", what, wait)
    await anyio.sleep(wait)


def _message(exc: RequestFailed) -> str:
    try:
        data = exc.response.raw_response.json()
    except ValueError:
        return ""
    return str(data.get("message", "")) if isinstance(data, dict) else ""
