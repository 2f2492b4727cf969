"""Two kinds of GitHub failure: transient ones the job retries later, and everything else."""

from __future__ import annotations


class GitHubUnavailable(Exception):
    """GitHub answered 5xx or could not be reached after bounded retries; retry the job later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(GitHubUnavailable):
    """A rate limit whose reset is too far away to wait for inside a job; re-queue after `retry_after`."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"GitHub rate limit: retry in {retry_after:.0f}s", retry_after)


class GitHubRefused(Exception):
    """GitHub answered a 4xx the job cannot fix by retrying (permissions, missing resource, bad request)."""

    def __init__(self, status: int, method: str, path: str, message: str = "") -> None:
        super().__init__(f"GitHub refused {method} {path}: {status} {message}".strip())
        self.status = status
