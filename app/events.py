"""Lenient models of the few webhook fields Steward reads: unknown fields ignored, missing ones tolerated."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Lenient(BaseModel):
    """Reads what it names and ignores the rest (githubkit's strict models reject real payloads)."""

    model_config = ConfigDict(extra="ignore")


class Account(Lenient):
    login: str
    id: int | None = None
    type: str = "User"

    @property
    def is_bot(self) -> bool:
        return self.type == "Bot" or self.login.endswith("[bot]")


class Installation(Lenient):
    id: int
    account: Account | None = None


class Repository(Lenient):
    id: int
    name: str
    full_name: str
    owner: Account
    default_branch: str = "main"
    private: bool = False
    html_url: str = ""


class Label(Lenient):
    name: str


class Issue(Lenient):
    number: int
    title: str = ""
    body: str | None = None
    state: str = "open"
    state_reason: str | None = None
    user: Account | None = None
    labels: list[Label] = Field(default_factory=list)
    pull_request: dict[str, Any] | None = None
    html_url: str = ""
    created_at: str | None = None
    updated_at: str | None = None
    closed_at: str | None = None

    @property
    def is_pull_request(self) -> bool:
        return self.pull_request is not None


class Ref(Lenient):
    ref: str
    sha: str


class PullRequest(Lenient):
    number: int
    title: str = ""
    body: str | None = None
    state: str = "open"
    merged: bool | None = None
    user: Account | None = None
    labels: list[Label] = Field(default_factory=list)
    html_url: str = ""
    head: Ref | None = None
    base: Ref | None = None
    created_at: str | None = None
    updated_at: str | None = None
    closed_at: str | None = None


class Comment(Lenient):
    id: int
    body: str | None = None
    user: Account
    html_url: str = ""
    author_association: str | None = None
    created_at: str | None = None


class Review(Lenient):
    id: int
    state: str
    user: Account | None = None
    commit_id: str | None = None
    submitted_at: str | None = None
    body: str | None = None
    html_url: str = ""


class ReviewComment(Lenient):
    """A comment on a line of a pull request's diff."""

    id: int
    body: str | None = None
    user: Account
    html_url: str = ""
    path: str = ""
    line: int | None = None
    pull_request_review_id: int | None = None
    """The review it belongs to (a single line comment is a review of its own)."""


class RepositoryRef(Lenient):
    id: int
    name: str
    full_name: str
    private: bool = False


class Envelope(Lenient):
    """The fields every routed event shares."""

    action: str | None = None
    installation: Installation | None = None
    repository: Repository | None = None
    sender: Account | None = None


class IssueCommentEvent(Envelope):
    issue: Issue
    comment: Comment


class IssuesEvent(Envelope):
    issue: Issue
    changes: dict[str, Any] | None = None
    """As sent: `transferred` names the new repository and issue here (the duplicate index follows it)."""


class PullRequestEvent(Envelope):
    number: int | None = None
    pull_request: PullRequest


class PullRequestReviewEvent(Envelope):
    review: Review
    pull_request: PullRequest


class PullRequestReviewCommentEvent(Envelope):
    comment: ReviewComment
    pull_request: PullRequest


class InstallationEvent(Envelope):
    repositories: list[RepositoryRef] = Field(default_factory=list)


class InstallationRepositoriesEvent(Envelope):
    repositories_added: list[RepositoryRef] = Field(default_factory=list)
    repositories_removed: list[RepositoryRef] = Field(default_factory=list)
