"""A run's own installation token: the git process needs the token, the API calls need a client over it."""

from __future__ import annotations

from typing import Any

import httpx
from githubkit import GitHub
from githubkit.cache import MemCacheStrategy

from app.github.client import GITHUB_TIMEOUT_SECONDS, GitHubKitClient, mint_installation_token
from app.github.protocol import RepoId
from app.github.retrying import DEFAULT_POLICY, RetryPolicy
from app.observability.github import hooks as github_hooks
from jobs.comment_count import counting
from jobs.context import settings_of

PLAN_PERMISSIONS = {"contents": "read", "issues": "write"}
"""Planning reads the repository and writes the plan comment; nothing more."""


async def scoped_client(
    ctx: dict[str, Any], installation_id: int, repo: RepoId, permissions: dict[str, str]
) -> tuple[GitHubKitClient, str]:
    """A client and its token, scoped to one repository and exactly these permissions."""
    settings = settings_of(ctx)
    transport: httpx.AsyncBaseTransport | None = ctx.get("github_transport")
    policy: RetryPolicy = ctx.get("github_retry", DEFAULT_POLICY)
    token = await mint_installation_token(
        settings, installation_id, repo, permissions, transport=transport, policy=policy
    )
    gh: GitHub[Any] = GitHub(
        token,
        base_url=settings.github_api_url,
        cache_strategy=MemCacheStrategy(),
        http_cache=False,
        auto_retry=False,
        async_transport=transport,
        async_event_hooks=github_hooks(),  # each answer counted (steward_github_*)
        timeout=GITHUB_TIMEOUT_SECONDS,
    )
    return counting(GitHubKitClient(gh, policy), ctx.get("redis")), token  # new comments count (noise)
