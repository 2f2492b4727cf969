"""The GitHub calls a digest makes, over githubkit's raw requests, each list read newest first and bounded."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
from githubkit import GitHub

from app.github.client import mint_installation_token, token_github
from app.github.protocol import RepoId
from app.github.retrying import DEFAULT_POLICY, RetryPolicy, request
from app.settings import Settings
from policies.loader import load_policy

PER_PAGE = 100
READ = {"contents": "read", "issues": "read", "pull_requests": "read", "metadata": "read"}
"""What a preview needs: the configuration, the issues and the pull requests."""


def publishing(discussion: bool) -> dict[str, str]:
    """The policy's permissions (policies/digest.yml), without `discussions` unless the digest is one."""
    granted: dict[str, str] = dict(load_policy("digest").permissions)
    if not discussion:
        granted.pop("discussions", None)
    return granted


class DigestClient:
    """One repository's reads and the digest's own writes (an issue, or a Discussion over GraphQL)."""

    def __init__(self, gh: GitHub[Any], repo: RepoId, policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self._gh = gh  # keep the GitHub object alive: githubkit's namespaces hold only a weakref
        self.repo = repo
        self._policy = policy

    @property
    def github(self) -> GitHub[Any]:
        return self._gh

    def __repr__(self) -> str:
        return f"DigestClient({self.repo.full_name}, <installation token>)"

    async def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = await request(self._gh, method, url, self._policy, **kwargs)
        return response.raw_response.json() if response.raw_response.content else None

    async def pages(self, url: str, params: dict[str, Any], most: int) -> AsyncIterator[list[dict[str, Any]]]:
        """At most `most` pages of a list, following GitHub's next links (which carry the query)."""
        nxt: str | None = url
        query: dict[str, Any] | None = {**params, "per_page": PER_PAGE}
        for _ in range(most):
            if nxt is None:
                return
            response = await request(self._gh, "GET", nxt, self._policy, params=query)
            data = response.raw_response.json() if response.raw_response.content else []
            yield [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []
            link = response.raw_response.links.get("next", {}).get("url")
            nxt, query = (str(link), None) if link else (None, None)

    async def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """One GraphQL call; GitHub answers errors with 200 and an `errors` list, raised here."""
        data = await self.json("POST", graphql_url(self._gh), json={"query": query, "variables": variables})
        if not isinstance(data, dict) or data.get("errors") or not isinstance(data.get("data"), dict):
            errors = data.get("errors") if isinstance(data, dict) else None
            first = errors[0].get("message") if isinstance(errors, list) and errors else "no data"
            raise DigestRefused(f"GitHub's GraphQL API refused the request: {str(first)[:200]}")
        found: dict[str, Any] = data["data"]
        return found


def graphql_url(gh: GitHub[Any]) -> str:
    """GitHub's GraphQL endpoint: `/graphql`, or `/api/graphql` on a GitHub Enterprise Server (`/api/v3`)."""
    base = gh.config.base_url
    path, replaced = re.subn(r"/api/v3/?$", "/api/graphql", base.path, count=1)
    return str(base.copy_with(path=path)) if replaced else "graphql"


class DigestRefused(Exception):
    """Something about this repository keeps its digest from being published; told, never retried."""


async def digest_client(
    settings: Settings,
    installation_id: int,
    repo: RepoId,
    permissions: dict[str, str],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> DigestClient:
    """A client with a token scoped to this one repository and these permissions."""
    token = await mint_installation_token(
        settings, installation_id, repo, permissions, transport=transport, policy=policy
    )
    return DigestClient(token_github(settings, token, transport), repo, policy)
