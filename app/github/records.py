"""Issues and pull requests read from GitHub's REST or webhook JSON into the protocol's records."""

from __future__ import annotations

from typing import Any

from app.github.protocol import IssueRecord, PullRef


def pull_ref(data: dict[str, Any]) -> PullRef:
    """A pull request from GitHub's REST or webhook JSON."""
    head = data.get("head") or {}
    return PullRef(
        number=int(data["number"]),
        html_url=str(data.get("html_url", "")),
        head_ref=str(head.get("ref", "")),
        head_sha=str(head.get("sha", "")),
        state=str(data.get("state") or "open"),
        merged=bool(data.get("merged") or data.get("merged_at")),
        author=str((data.get("user") or {}).get("login", "")),
    )


def issue_record(data: dict[str, Any]) -> IssueRecord:
    """An issue or pull request from GitHub's REST or webhook JSON."""
    user = data.get("user") or {}
    return IssueRecord(
        number=int(data["number"]),
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        state=str(data.get("state") or "open"),
        # REST issue lists mark pull requests with a `pull_request` object; pull request payloads have `head`.
        is_pull_request=bool(data.get("pull_request")) or "head" in data or "merged_at" in data,
        author=str(user.get("login", "")),
        author_type=_author_type(user),
        base_branch=str((data.get("base") or {}).get("ref") or ""),
        labels=[str(label.get("name", "")) for label in data.get("labels") or [] if isinstance(label, dict)],
        html_url=str(data.get("html_url", "")),
        state_reason=data.get("state_reason") or _merged(data),
        created_at=data.get("created_at"),
        updated_at=data.get("updated_at"),
        closed_at=data.get("closed_at"),
    )


def _merged(data: dict[str, Any]) -> str | None:
    """'merged' for a merged pull request (REST and webhook objects, or an issue list's `pull_request`)."""
    pull = data.get("pull_request")
    merged_at = data.get("merged_at") or (pull.get("merged_at") if isinstance(pull, dict) else None)
    return "merged" if data.get("merged") or merged_at else None


def _author_type(user: dict[str, Any]) -> str:
    """bot for GitHub's Bot accounts and apps' [bot] logins, user for others, '' when unknown."""
    kind = str(user.get("type") or "").lower()
    if kind == "bot" or str(user.get("login", "")).endswith("[bot]"):
        return "bot"
    return "user" if kind else ""
