"""The githubkit adapter: App auth from the settings, one scoped installation token per job."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
from githubkit import AppAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy

from app.github.comments import bounded_body
from app.github.errors import GitHubRefused
from app.github.protocol import (
    CheckAnnotation,
    DirEntry,
    FileContent,
    IssueComment,
    IssuePage,
    IssueRecord,
    PullRef,
    RepoId,
    RepoInfo,
)
from app.github.records import issue_record, pull_ref
from app.github.redact import register_secret
from app.github.retrying import DEFAULT_POLICY, RetryPolicy, request
from app.github.reviews import (
    CommitRecord,
    ReviewCommentRecord,
    ReviewRecord,
    commit_record,
    review_comment_record,
    review_record,
)
from app.github.transport import app_private_key, tls_context
from app.observability.github import hooks as github_hooks
from app.settings import Settings

log = logging.getLogger(__name__)

GITHUB_TIMEOUT_SECONDS = 30.0
PER_PAGE = 100
MAX_DIR_ENTRIES = 1000
"""Entries of one directory listing read (the contents API itself lists at most 1,000)."""
TIMELINE_PAGES = 5
"""An issue's timeline read at most this far (500 events) for the pull requests linked to it."""

MAX_CHECK_TITLE = 255
MAX_CHECK_TEXT = 60_000
"""GitHub refuses a check's summary over 65,535 characters."""
MAX_CHECK_ANNOTATION = 4_000
MAX_CHECK_ANNOTATIONS = 50
"""GitHub takes at most 50 annotations per request."""


def app_github(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = GITHUB_TIMEOUT_SECONDS,
) -> GitHub[AppAuthStrategy]:
    """A client authenticated as the App itself (JWT), for /app and token minting only."""
    settings.require("app_id", "private_key")
    assert settings.app_id is not None
    # the key parsed once per process, not per job (PyJWT takes a key object as well as PEM text)
    key = cast(str, app_private_key(settings.private_key_pem()))
    auth = AppAuthStrategy(app_id=settings.app_id, private_key=key)
    return GitHub(
        auth,
        base_url=settings.github_api_url,  # githubkit keeps a GHES /api/v3 path (adds the slash)
        cache_strategy=MemCacheStrategy(),  # a fresh cache: no JWT shared between clients or tests
        http_cache=False,
        auto_retry=False,  # retries are ours (app.github.retrying): bounded, never an hour's sleep
        async_transport=transport,
        ssl_verify=tls_context(),  # one per process: building one per client cost a quarter of the CPU
        async_event_hooks=github_hooks(),  # each answer counted (steward_github_*)
        timeout=timeout,
    )


async def mint_installation_token(
    settings: Settings,
    installation_id: int,
    repo: RepoId,
    permissions: dict[str, str],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> str:
    """An installation token for exactly one repository and exactly the permissions given."""
    app_gh = app_github(settings, transport=transport)
    response = await request(
        app_gh,
        "POST",
        f"app/installations/{installation_id}/access_tokens",
        policy,
        json={"repositories": [repo.name], "permissions": dict(permissions)},
    )
    token = str(response.raw_response.json()["token"])
    register_secret(token)
    return token


async def installation_client(
    settings: Settings,
    installation_id: int,
    repo: RepoId,
    permissions: dict[str, str],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> GitHubKitClient:
    """A GitHubClient acting for one installation on one repository, with a freshly minted scoped token."""
    token = await mint_installation_token(
        settings, installation_id, repo, permissions, transport=transport, policy=policy
    )
    return GitHubKitClient(token_github(settings, token, transport), policy)


def token_github(
    settings: Settings, token: str, transport: httpx.AsyncBaseTransport | None = None
) -> GitHub[Any]:
    """A githubkit client that acts with one installation token."""
    return GitHub(
        token,
        base_url=settings.github_api_url,  # githubkit keeps a GHES /api/v3 path (adds the slash)
        cache_strategy=MemCacheStrategy(),
        http_cache=False,
        auto_retry=False,  # retries are ours (app.github.retrying)
        async_transport=transport,
        ssl_verify=tls_context(),  # one per process: building one per client cost a quarter of the CPU
        async_event_hooks=github_hooks(),  # each answer counted (steward_github_*)
        timeout=GITHUB_TIMEOUT_SECONDS,
    )


def _comment(data: dict[str, Any]) -> IssueComment:
    user = data.get("user") or {}
    return IssueComment(
        id=int(data["id"]),
        body=str(data.get("body") or ""),
        author=str(user.get("login", "")),
        html_url=str(data.get("html_url", "")),
    )


class GitHubKitClient:
    """app.github.protocol.GitHubClient over githubkit's raw requests, parsed leniently."""

    def __init__(self, gh: GitHub[Any], policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self._gh = gh  # keep the GitHub object alive: githubkit's namespaces hold only a weakref
        self._policy = policy

    def __repr__(self) -> str:
        return "GitHubKitClient(<installation token>)"

    async def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = await request(self._gh, method, url, self._policy, **kwargs)
        return response.raw_response.json() if response.raw_response.content else None

    async def collaborator_permission(self, repo: RepoId, login: str) -> str:
        try:
            data = await self._json("GET", f"repos/{repo.full_name}/collaborators/{login}/permission")
        except GitHubRefused as exc:
            if exc.status == 404:
                return "none"
            raise
        # role_name distinguishes maintain/triage; `permission` folds them into write/read.
        role = data.get("role_name") or data.get("permission") or "none"
        return str(role)

    async def get_file(self, repo: RepoId, path: str, ref: str | None = None) -> FileContent | None:
        params = {"ref": ref} if ref else None
        try:
            data = await self._json("GET", f"repos/{repo.full_name}/contents/{path}", params=params)
        except GitHubRefused as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(data, dict) or data.get("type", "file") != "file":
            return None
        try:
            text = base64.b64decode(data.get("content") or "").decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            log.warning("%s in %s is not UTF-8 text", path, repo.full_name)
            return None
        return FileContent(path=path, text=text, sha=str(data.get("sha", "")))

    async def list_directory(self, repo: RepoId, path: str) -> list[DirEntry]:
        try:
            data = await self._json("GET", f"repos/{repo.full_name}/contents/{path.strip('/')}")
        except GitHubRefused as exc:
            if exc.status == 404:
                return []
            raise
        if not isinstance(data, list):  # a file, not a directory
            return []
        return [entry for item in data[:MAX_DIR_ENTRIES] if (entry := _dir_entry(item)) is not None]

    async def default_branch_sha(self, repo: RepoId) -> tuple[str, str]:
        data = await self._json("GET", f"repos/{repo.full_name}")
        branch = str(data["default_branch"])
        head = await self._json("GET", f"repos/{repo.full_name}/commits/{branch}")
        return branch, str(head["sha"])

    async def list_comments(self, repo: RepoId, number: int, since: str | None = None) -> list[IssueComment]:
        comments: list[IssueComment] = []
        url: str | None = f"repos/{repo.full_name}/issues/{number}/comments"
        params: dict[str, Any] | None = {"per_page": PER_PAGE} | ({"since": since} if since else {})
        while url is not None:
            response = await request(self._gh, "GET", url, self._policy, params=params)
            comments.extend(_comment(item) for item in response.raw_response.json())
            nxt = response.raw_response.links.get("next", {}).get("url")
            url, params = (str(nxt), None) if nxt else (None, None)  # GitHub's next link carries the query
        return comments

    async def create_comment(self, repo: RepoId, number: int, body: str) -> IssueComment:
        data = await self._json(
            "POST", f"repos/{repo.full_name}/issues/{number}/comments", json={"body": bounded_body(body)}
        )
        return _comment(data)

    async def update_comment(self, repo: RepoId, comment_id: int, body: str) -> IssueComment:
        data = await self._json(
            "PATCH", f"repos/{repo.full_name}/issues/comments/{comment_id}", json={"body": bounded_body(body)}
        )
        return _comment(data)

    async def add_labels(self, repo: RepoId, number: int, labels: list[str]) -> None:
        await self._json("POST", f"repos/{repo.full_name}/issues/{number}/labels", json={"labels": labels})

    async def list_issues(self, repo: RepoId, page: int, per_page: int = 100) -> IssuePage:
        params = {"state": "all", "sort": "created", "direction": "asc", "per_page": per_page, "page": page}
        response = await request(
            self._gh, "GET", f"repos/{repo.full_name}/issues", self._policy, params=params
        )
        items = [issue_record(item) for item in response.raw_response.json() if isinstance(item, dict)]
        return IssuePage(items=items, has_next="next" in response.raw_response.links)

    # The calls of a writing run (app.github.protocol.RunGitHubClient), added for the run lifecycle.

    async def repository_info(self, repo: RepoId) -> RepoInfo:
        data = await self._json("GET", f"repos/{repo.full_name}")
        return RepoInfo(default_branch=str(data["default_branch"]), clone_url=str(data["clone_url"]))

    async def get_issue(self, repo: RepoId, number: int) -> IssueRecord:
        return issue_record(await self._json("GET", f"repos/{repo.full_name}/issues/{number}"))

    async def find_open_pull(self, repo: RepoId, head_branch: str) -> PullRef | None:
        params = {"head": f"{repo.owner}:{head_branch}", "state": "open", "per_page": PER_PAGE}
        data = await self._json("GET", f"repos/{repo.full_name}/pulls", params=params)
        for item in data or []:
            if isinstance(item, dict) and (item.get("head") or {}).get("ref") == head_branch:
                return pull_ref(item)
        return None

    async def create_pull(self, repo: RepoId, *, title: str, body: str, head: str, base: str) -> PullRef:
        payload = {
            "title": title[:256],
            "body": bounded_body(body),
            "head": head,
            "base": base,
            "maintainer_can_modify": True,
        }
        return pull_ref(await self._json("POST", f"repos/{repo.full_name}/pulls", json=payload))

    async def get_pull(self, repo: RepoId, number: int) -> PullRef:
        return pull_ref(await self._json("GET", f"repos/{repo.full_name}/pulls/{number}"))

    async def _pages(self, url: str, most: int) -> AsyncIterator[list[Any]]:
        """At most `most` pages of a list endpoint, following GitHub's next links (which carry the query)."""
        nxt: str | None = url
        params: dict[str, Any] | None = {"per_page": PER_PAGE}
        for _ in range(most):
            if nxt is None:
                return
            response = await request(self._gh, "GET", nxt, self._policy, params=params)
            data = response.raw_response.json() if response.raw_response.content else []
            yield data if isinstance(data, list) else []
            link = response.raw_response.links.get("next", {}).get("url")
            nxt, params = (str(link), None) if link else (None, None)

    async def pull_files(self, repo: RepoId, number: int, limit: int) -> list[str]:
        found: list[str] = []
        async for page in self._pages(f"repos/{repo.full_name}/pulls/{number}/files", -(-limit // PER_PAGE)):
            for item in page:
                if isinstance(item, dict) and item.get("status") != "removed" and item.get("filename"):
                    found.append(str(item["filename"]))
            if len(found) >= limit:
                break
        return found[:limit]

    async def _listed(self, url: str, limit: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        async for page in self._pages(url, -(-limit // PER_PAGE)):
            found += [item for item in page if isinstance(item, dict) and ("id" in item or "sha" in item)]
            if len(found) >= limit:
                break
        return found[:limit]

    async def pull_reviews(self, repo: RepoId, number: int, limit: int) -> list[ReviewRecord]:
        items = await self._listed(f"repos/{repo.full_name}/pulls/{number}/reviews", limit)
        return [review_record(item) for item in items]

    async def pull_review_comments(self, repo: RepoId, number: int, limit: int) -> list[ReviewCommentRecord]:
        items = await self._listed(f"repos/{repo.full_name}/pulls/{number}/comments", limit)
        return [review_comment_record(item) for item in items]

    async def pull_commits(self, repo: RepoId, number: int, limit: int) -> list[CommitRecord]:
        items = await self._listed(f"repos/{repo.full_name}/pulls/{number}/commits", limit)
        return [commit_record(item) for item in items if "sha" in item]

    async def linked_pulls(self, repo: RepoId, number: int, limit: int) -> list[int]:
        found: list[int] = []
        async for page in self._pages(f"repos/{repo.full_name}/issues/{number}/timeline", TIMELINE_PAGES):
            for event in page:
                pull = _linked_pull(event, repo)
                if pull is not None and pull != number and pull not in found:
                    found.append(pull)
            if len(found) >= limit:
                break
        return found[:limit]

    async def closing_commit(self, repo: RepoId, number: int) -> str | None:
        """The commit that last closed the issue (a merged pull request's "Fixes #N", or a push), from its
        timeline's `closed` events; None when a person closed it by hand."""
        found: str | None = None
        async for page in self._pages(f"repos/{repo.full_name}/issues/{number}/timeline", TIMELINE_PAGES):
            for event in page:
                if isinstance(event, dict) and event.get("event") == "closed":
                    found = str(event["commit_id"]) if event.get("commit_id") else None
        return found

    async def set_status(
        self, repo: RepoId, sha: str, state: str, *, context: str, description: str, target_url: str = ""
    ) -> None:
        payload = {"state": state, "context": context, "description": description[:140]}
        if target_url:
            payload["target_url"] = target_url
        await self._json("POST", f"repos/{repo.full_name}/statuses/{sha}", json=payload)

    async def status_of(self, repo: RepoId, sha: str, context: str) -> str | None:
        data = await self._json("GET", f"repos/{repo.full_name}/commits/{sha}/status")
        for item in (data or {}).get("statuses") or []:  # newest first, one per context
            if isinstance(item, dict) and item.get("context") == context:
                return str(item.get("state"))
        return None

    async def upsert_check_run(
        self,
        repo: RepoId,
        sha: str,
        *,
        name: str,
        conclusion: str,
        title: str,
        summary: str,
        annotations: list[CheckAnnotation],
    ) -> int:
        found = await self._json(
            "GET",
            f"repos/{repo.full_name}/commits/{sha}/check-runs",
            params={"check_name": name, "per_page": 10},
        )
        runs = [run for run in (found or {}).get("check_runs") or [] if isinstance(run, dict) and "id" in run]
        body: dict[str, Any] = {
            "name": name,
            "head_sha": sha,
            "status": "completed",
            "conclusion": conclusion,
            "output": {
                "title": title[:MAX_CHECK_TITLE],
                "summary": summary[:MAX_CHECK_TEXT],
                "annotations": [
                    {
                        "path": note.path,
                        "start_line": note.line,
                        "end_line": note.line,
                        "annotation_level": note.level,
                        "message": note.message[:MAX_CHECK_ANNOTATION],
                        **({"title": note.title[:255]} if note.title else {}),
                    }
                    for note in annotations[:MAX_CHECK_ANNOTATIONS]
                ],
            },
        }
        if runs:  # only our App's runs are visible to its token under this name
            run_id = int(runs[0]["id"])
            await self._json("PATCH", f"repos/{repo.full_name}/check-runs/{run_id}", json=body)
            return run_id
        created = await self._json("POST", f"repos/{repo.full_name}/check-runs", json=body)
        return int(created["id"])


def _dir_entry(item: Any) -> DirEntry | None:
    if (
        not isinstance(item, dict)
        or not isinstance(item.get("name"), str)
        or not isinstance(item.get("path"), str)
    ):
        return None
    size = item.get("size")
    return DirEntry(
        name=item["name"],
        path=item["path"],
        type=str(item.get("type") or ""),
        size=size if isinstance(size, int) and not isinstance(size, bool) else 0,
    )


def _linked_pull(event: Any, repo: RepoId) -> int | None:
    """The number of the pull request a timeline event cross-references, when it is one of this repository."""
    if not isinstance(event, dict) or event.get("event") != "cross-referenced":
        return None
    source = (event.get("source") or {}).get("issue") or {}
    if not isinstance(source, dict) or not source.get("pull_request"):
        return None
    # `repository_url` is on every issue object; `repository` only on some (API root: GHES differs).
    where = str((source.get("repository") or {}).get("full_name") or "")
    where = where or str(source.get("repository_url") or "").rpartition("/repos/")[2]
    if where.lower() != repo.full_name.lower() or not isinstance(source.get("number"), int):
        return None
    return int(source["number"])
