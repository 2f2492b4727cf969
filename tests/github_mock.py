"""A stateful GitHub REST mock on respx, answering with payloads shaped like GitHub's real responses."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import respx

API = "https://api.github.com"
TOKEN = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
"""The installation token the mock mints (shaped like a real one, never valid)."""
BOT_LOGIN = "steward[bot]"


def user(login: str, *, bot: bool = False, uid: int = 1) -> dict[str, Any]:
    return {
        "login": login,
        "id": uid,
        "node_id": "MDQ6VXNlcjE=",
        "avatar_url": "https://github.com/images/error/octocat_happy.gif",
        "html_url": f"https://github.com/{login}",
        "type": "Bot" if bot else "User",
        "site_admin": False,
    }


@dataclass
class FakeGitHub:
    """The slice of one repository's GitHub state the jobs touch, served through respx routes."""

    owner: str = "Codertocat"
    repo: str = "Hello-World"
    permissions: dict[str, str] = field(default_factory=dict)
    """login -> role_name (admin, maintain, write, triage, read); absent logins get a 404."""
    files: dict[str, str] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pull_files: dict[int, list[str]] = field(default_factory=dict)
    """Pull request number -> the paths its files API lists (none for others)."""
    token_bodies: list[dict[str, Any]] = field(default_factory=list)
    token_auth: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    listed_since: deque[str | None] = field(default_factory=lambda: deque(maxlen=100))
    """The `since` of the latest comment listings (None: the whole thread was asked for)."""
    fail_next: dict[str, list[httpx.Response]] = field(default_factory=dict)
    """Route name -> responses served (in order) before the normal behaviour, e.g. a 502."""
    lose_next: dict[str, int] = field(default_factory=dict)
    """Route name -> how many times the request takes effect but its answer is lost (a 502 comes back)."""
    _next_id: int = 900_000

    @property
    def full(self) -> str:
        return f"{self.owner}/{self.repo}"

    def install(self, router: respx.MockRouter) -> respx.MockRouter:
        base = f"{API}/repos/{self.full}"
        router.post(url__regex=rf"{API}/app/installations/\d+/access_tokens$", name="token").mock(
            side_effect=self._guard("token", self._token)
        )
        router.get(url__regex=rf"{base}/collaborators/[^/]+/permission$", name="permission").mock(
            side_effect=self._guard("permission", self._permission)
        )
        router.get(url__regex=rf"{base}/contents/.*", name="contents").mock(
            side_effect=self._guard("contents", self._contents)
        )
        router.get(url__regex=rf"{base}/issues/\d+/comments", name="list_comments").mock(
            side_effect=self._guard("list_comments", self._list)
        )
        router.post(url__regex=rf"{base}/issues/\d+/comments$", name="create_comment").mock(
            side_effect=self._guard("create_comment", self._create)
        )
        router.patch(url__regex=rf"{base}/issues/comments/\d+$", name="update_comment").mock(
            side_effect=self._guard("update_comment", self._update)
        )
        router.get(url__regex=rf"{base}/pulls/\d+/files", name="pull_files").mock(
            side_effect=self._guard("pull_files", self._pull_files)
        )
        return router

    def _pull_files(self, request: httpx.Request) -> httpx.Response:
        number = int(request.url.path.split("/")[-2])
        paths = self.pull_files.get(number, [])
        return httpx.Response(200, json=[{"filename": p, "status": "modified"} for p in paths])

    def _guard(self, name: str, handler: Any) -> Any:
        def respond(request: httpx.Request) -> httpx.Response:
            queued = self.fail_next.get(name)
            if queued:
                return queued.pop(0)
            response: httpx.Response = handler(request)
            if self.lose_next.get(name, 0) > 0:
                self.lose_next[name] -= 1
                return server_error()
            return response

        return respond

    def _token(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.token_bodies.append(body)
        self.token_auth.append(request.headers.get("authorization", ""))
        return httpx.Response(
            201,
            json={
                "token": TOKEN,
                "expires_at": "2099-01-01T00:00:00Z",
                "permissions": body.get("permissions", {}),
                "repository_selection": "selected",
                "repositories": [
                    {"id": 1296269, "name": n, "full_name": f"{self.owner}/{n}"}
                    for n in body.get("repositories", [])
                ],
            },
        )

    def _permission(self, request: httpx.Request) -> httpx.Response:
        login = request.url.path.split("/")[-2]
        role = self.permissions.get(login)
        if role is None:
            return httpx.Response(
                404,
                json={
                    "message": "Not Found",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "404",
                },
            )
        legacy = {"maintain": "write", "triage": "read"}.get(role, role)
        return httpx.Response(200, json={"permission": legacy, "role_name": role, "user": user(login)})

    def _listing(self, path: str) -> list[dict[str, Any]] | None:
        """A directory's entries as the contents API lists them, or None when no file is under it."""
        prefix = f"{path}/" if path else ""
        entries: dict[str, dict[str, Any]] = {}
        for name, text in self.files.items():
            if not name.startswith(prefix):
                continue
            head, _, rest = name[len(prefix) :].partition("/")
            full = prefix + head
            kind = "dir" if rest else "file"
            entries[head] = {
                "type": kind,
                "name": head,
                "path": full,
                "size": len(text.encode()) if kind == "file" else 0,
                "sha": hashlib.sha1(full.encode()).hexdigest(),  # noqa: S324 - an id, not security
                "url": f"{API}/repos/{self.full}/contents/{full}",
                "html_url": f"https://github.com/{self.full}/tree/main/{full}",
                "git_url": None,
                "download_url": None,
                "_links": {},
            }
        return [entries[k] for k in sorted(entries)] if entries else None

    def _contents(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.split("/contents", 1)[1].strip("/")
        text = self.files.get(path)
        listing = None if text is not None else self._listing(path)
        if listing is not None:
            return httpx.Response(200, json=listing)
        if text is None:
            return httpx.Response(
                404,
                json={
                    "message": "Not Found",
                    "documentation_url": "https://docs.github.com/rest/repos/contents#get-repository-content",
                    "status": "404",
                },
            )
        raw = text.encode()
        encoded = base64.encodebytes(raw).decode()  # GitHub wraps the base64 at 60 columns with newlines
        sha = hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()  # noqa: S324 - git's blob id
        return httpx.Response(
            200,
            json={
                "type": "file",
                "encoding": "base64",
                "size": len(raw),
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "content": encoded,
                "sha": sha,
                "url": f"{API}/repos/{self.full}/contents/{path}",
                "git_url": None,
                "html_url": None,
                "download_url": None,
                "_links": {},
            },
        )

    def _number(self, request: httpx.Request) -> int:
        match = re.search(r"/issues/(\d+)/comments", request.url.path)
        assert match is not None
        return int(match.group(1))

    def _list(self, request: httpx.Request) -> httpx.Response:
        items = self.comments.get(self._number(request), [])
        since = request.url.params.get("since")
        if since:  # GitHub's filter: comments updated at or after the time
            items = [c for c in items if c["updated_at"] >= since]
        self.listed_since.append(since)
        per_page = int(request.url.params.get("per_page", 30))
        page = int(request.url.params.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            nxt = request.url.copy_merge_params({"page": page + 1, "per_page": per_page})
            headers["link"] = f'<{nxt}>; rel="next"'
        return httpx.Response(200, json=chunk, headers=headers)

    def add_comment(
        self, number: int, body: str, login: str, *, bot: bool = False, at: str = "2026-11-21T04:00:00Z"
    ) -> dict[str, Any]:
        self._next_id += 1
        cid = self._next_id
        comment = {
            "id": cid,
            "node_id": "IC_kwDOA",
            "url": f"{API}/repos/{self.full}/issues/comments/{cid}",
            "html_url": f"https://github.com/{self.full}/issues/{number}#issuecomment-{cid}",
            "body": body,
            "user": user(login, bot=bot),
            "created_at": at,
            "updated_at": at,
            "issue_url": f"{API}/repos/{self.full}/issues/{number}",
            "author_association": "NONE",
            "performed_via_github_app": None,
        }
        self.comments.setdefault(number, []).append(comment)
        return comment

    def _create(self, request: httpx.Request) -> httpx.Response:
        self.created += 1
        body = json.loads(request.content)["body"]
        comment = self.add_comment(self._number(request), body, BOT_LOGIN, bot=True, at=_now())
        return httpx.Response(201, json=comment)

    def _update(self, request: httpx.Request) -> httpx.Response:
        cid = int(request.url.path.rsplit("/", 1)[1])
        for items in self.comments.values():
            for comment in items:
                if comment["id"] == cid:
                    self.updated += 1
                    comment["body"] = json.loads(request.content)["body"]
                    comment["updated_at"] = _now()
                    return httpx.Response(200, json=comment)
        return httpx.Response(404, json={"message": "Not Found", "status": "404"})

    def bot_comments(self, number: int) -> list[str]:
        return [c["body"] for c in self.comments.get(number, []) if c["user"]["login"] == BOT_LOGIN]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def server_error() -> httpx.Response:
    return httpx.Response(
        502, text="<html><body><h1>502 Bad Gateway</h1></body></html>", headers={"content-type": "text/html"}
    )
