"""The revision tests' GitHub: FakeRunGitHub plus a pull request's reviews, review comments and commits,
shaped like GitHub's (the review and comment objects of the real pull_request_review and
pull_request_review_comment webhook examples, which are what the REST lists return per item)."""

from __future__ import annotations

import copy
import subprocess
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx

from tests.conftest import load_payload
from tests.github_mock import API, user
from tests.run_fixtures import INSTALLATION_ID, FakeRunGitHub, comment_event

PR = 100


def pull_comment_event(body: str, login: str, comment_id: int, number: int = PR) -> dict[str, Any]:
    """The real issue_comment.created example, on a pull request (GitHub marks it with `pull_request`)."""
    payload = comment_event(body, login, comment_id, number)
    payload["issue"]["pull_request"] = {
        "url": f"{API}/repos/Codertocat/Hello-World/pulls/{number}",
        "html_url": f"https://github.com/Codertocat/Hello-World/pull/{number}",
    }
    return payload


def review_item(review_id: int, login: str, state: str, body: str, at: str) -> dict[str, Any]:
    """One item of GET /pulls/{n}/reviews: the real example's review (REST says the state in capitals)."""
    review = copy.deepcopy(load_payload("pull_request_review", "submitted")["review"])
    review.update({"id": review_id, "state": state.upper(), "body": body, "submitted_at": at})
    review["html_url"] = f"https://github.com/Codertocat/Hello-World/pull/{PR}#pullrequestreview-{review_id}"
    review["user"].update({"login": login, "type": "User"})
    return review


def review_comment_item(
    comment_id: int, login: str, path: str, line: int, body: str, at: str
) -> dict[str, Any]:
    """One item of GET /pulls/{n}/comments: the real pull_request_review_comment example's comment."""
    comment = copy.deepcopy(load_payload("pull_request_review_comment", "created")["comment"])
    comment.update({"id": comment_id, "path": path, "line": line, "original_line": line, "body": body,
                    "created_at": at, "updated_at": at})  # fmt: skip
    comment["html_url"] = f"https://github.com/Codertocat/Hello-World/pull/{PR}#discussion_r{comment_id}"
    comment["user"].update({"login": login, "type": "User"})
    return comment


def changes_requested_event(login: str, review_id: int, commit_id: str, body: str) -> dict[str, Any]:
    """The real pull_request_review.submitted example: a "Request changes" review of Steward's PR."""
    payload = copy.deepcopy(load_payload("pull_request_review", "submitted"))
    payload["review"].update(
        {"state": "changes_requested", "commit_id": commit_id, "id": review_id, "body": body}
    )
    payload["review"]["user"].update({"login": login, "type": "User"})
    payload["pull_request"]["number"] = PR
    payload["installation"] = {"id": INSTALLATION_ID}
    return payload


@dataclass
class FakeReviewGitHub(FakeRunGitHub):
    """Reviews and review comments by pull request; a pull request's commits read from the bare remote."""

    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    review_comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    logins: dict[str, str] = field(
        default_factory=lambda: {"steward@users.noreply.github.com": "steward[bot]"}
    )
    """Commit e-mail -> the GitHub login it belongs to (GitHub leaves `author` null for unknown e-mails)."""

    def install(self, router: respx.MockRouter) -> respx.MockRouter:
        super().install(router)
        base = f"{API}/repos/{self.full}/pulls"
        router.get(url__regex=rf"{base}/\d+/reviews(\?.*)?$", name="reviews").mock(
            side_effect=lambda request: self._listed(request, self.reviews)
        )
        router.get(url__regex=rf"{base}/\d+/comments(\?.*)?$", name="review_comments").mock(
            side_effect=lambda request: self._listed(request, self.review_comments)
        )
        router.get(url__regex=rf"{base}/\d+/commits(\?.*)?$", name="pull_commits").mock(
            side_effect=self._commits
        )
        return router

    def _commits(self, request: httpx.Request) -> httpx.Response:
        number = int(request.url.path.split("/")[-2])
        pull = next(p for p in self.pulls if p["number"] == number)
        assert self.remote is not None
        fmt = "--format=%H%x00%an%x00%ae%x00%B%x01"
        log = subprocess.run(
            ["git", "log", "--reverse", fmt, f"main..{pull['head']['ref']}"],
            cwd=self.remote.bare, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        items = []
        for entry in filter(str.strip, log.split("\x01")):
            sha, name, email, message = entry.strip("\n").split("\x00", 3)
            login = self.logins.get(email)
            items.append({
                "sha": sha,
                "node_id": "C_kwDO",
                "commit": {"author": {"name": name, "email": email, "date": "2026-11-20T10:00:00Z"},
                           "committer": {"name": name, "email": email, "date": "2026-11-20T10:00:00Z"},
                           "message": message.strip(), "tree": {"sha": sha, "url": ""}},
                "author": user(login, bot=login.endswith("[bot]")) if login else None,
                "committer": user(login, bot=login.endswith("[bot]")) if login else None,
                "parents": [],
                "html_url": f"https://github.com/{self.full}/commit/{sha}",
            })  # fmt: skip
        return httpx.Response(200, json=items)
