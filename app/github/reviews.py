"""A pull request's reviews, review comments and commits, as a revision reads them (GitHub's REST shapes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ReviewRecord:
    """One submitted review: its verdict and its body (empty for most approvals)."""

    id: int
    author: str
    author_type: str
    state: str
    """Lower case, as webhooks say it: `approved`, `changes_requested`, `commented`, `dismissed`."""
    body: str
    html_url: str
    submitted_at: str


@dataclass(frozen=True)
class ReviewCommentRecord:
    """One comment on a line of the diff."""

    id: int
    author: str
    author_type: str
    body: str
    path: str
    line: int | None
    html_url: str
    created_at: str


@dataclass(frozen=True)
class CommitRecord:
    """One commit of a pull request: who made it, and its message."""

    sha: str
    author: str
    """The GitHub login when GitHub knows one, else the name in the commit."""
    message: str


def _user(data: dict[str, Any]) -> tuple[str, str]:
    user = data.get("user") or {}
    return str(user.get("login", "")), str(user.get("type", ""))


def review_record(data: dict[str, Any]) -> ReviewRecord:
    login, kind = _user(data)
    return ReviewRecord(
        id=int(data["id"]),
        author=login,
        author_type=kind,
        state=str(data.get("state") or "").lower(),
        body=str(data.get("body") or ""),
        html_url=str(data.get("html_url", "")),
        submitted_at=str(data.get("submitted_at") or ""),
    )


def review_comment_record(data: dict[str, Any]) -> ReviewCommentRecord:
    login, kind = _user(data)
    line = data.get("line") or data.get("original_line")
    return ReviewCommentRecord(
        id=int(data["id"]),
        author=login,
        author_type=kind,
        body=str(data.get("body") or ""),
        path=str(data.get("path") or ""),
        line=int(line) if isinstance(line, int) else None,
        html_url=str(data.get("html_url", "")),
        created_at=str(data.get("created_at") or ""),
    )


def commit_record(data: dict[str, Any]) -> CommitRecord:
    inner = data.get("commit") or {}
    login = (data.get("author") or {}).get("login") or (inner.get("author") or {}).get("name") or ""
    return CommitRecord(
        sha=str(data.get("sha", "")), author=str(login), message=str(inner.get("message") or "")
    )
