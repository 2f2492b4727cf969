"""The narrow set of GitHub calls Steward's workers make; one githubkit adapter implements it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

PERMISSION_LEVELS = ("none", "read", "triage", "write", "maintain", "admin")
"""GitHub's repository roles, weakest first."""


def permission_rank(level: str) -> int:
    """Order GitHub's role names; unknown names rank as none."""
    return PERMISSION_LEVELS.index(level) if level in PERMISSION_LEVELS else 0


@dataclass(frozen=True)
class RepoId:
    owner: str
    name: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @classmethod
    def parse(cls, full_name: str) -> RepoId:
        owner, _, name = full_name.partition("/")
        if not owner or not name:
            raise ValueError(f"not an owner/name repository: {full_name!r}")
        return cls(owner, name)


@dataclass(frozen=True)
class IssueComment:
    id: int
    body: str
    author: str
    html_url: str = ""


@dataclass(frozen=True)
class FileContent:
    path: str
    text: str
    sha: str


@dataclass(frozen=True)
class DirEntry:
    """One entry of a repository directory as the contents API lists it."""

    name: str
    path: str
    type: str
    """file, dir, symlink or submodule"""
    size: int


@dataclass
class IssueRecord:
    """An issue or pull request as the workflows read it."""

    number: int
    title: str
    body: str
    state: str
    is_pull_request: bool
    author: str
    labels: list[str] = field(default_factory=list)
    html_url: str = ""
    state_reason: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    closed_at: str | None = None
    author_type: str = ""
    """user or bot (GitHub's `user.type`, lowercased; an app's login ending in [bot] counts as bot)."""
    base_branch: str = ""
    """A pull request's base branch, from pull request payloads (issue lists lack it)."""
    files: list[str] | None = None
    """A pull request's changed files, when fetched (bounded); None when not."""


@dataclass
class IssuePage:
    """One page of a repository's issues and pull requests, and whether another follows."""

    items: list[IssueRecord]
    has_next: bool


class GitHubClient(Protocol):
    """What a job may ask of GitHub, on behalf of one installation and one repository."""

    async def collaborator_permission(self, repo: RepoId, login: str) -> str:
        """The user's role on the repository: admin, maintain, write, triage, read or none."""

    async def get_file(self, repo: RepoId, path: str, ref: str | None = None) -> FileContent | None:
        """A text file from the repository (default branch when ref is None), or None if absent."""

    async def list_directory(self, repo: RepoId, path: str) -> list[DirEntry]:
        """The entries of a directory on the default branch ('' for the root); empty when it is absent."""

    async def pull_files(self, repo: RepoId, number: int, limit: int) -> list[str]:
        """The paths a pull request changes and leaves in place (removed files left out), at most `limit`."""

    async def default_branch_sha(self, repo: RepoId) -> tuple[str, str]:
        """The default branch's name and head commit sha."""

    async def list_comments(self, repo: RepoId, number: int, since: str | None = None) -> list[IssueComment]:
        """Every comment on an issue or pull request, oldest first; with `since` (ISO 8601), only those
        updated at or after it (GitHub's own filter, so a long thread is not read whole)."""

    async def create_comment(self, repo: RepoId, number: int, body: str) -> IssueComment: ...

    async def update_comment(self, repo: RepoId, comment_id: int, body: str) -> IssueComment: ...

    async def add_labels(self, repo: RepoId, number: int, labels: list[str]) -> None: ...

    async def list_issues(self, repo: RepoId, page: int, per_page: int = 100) -> IssuePage:
        """One page of every issue and pull request (any state), oldest first; pages are 1-based."""


@dataclass(frozen=True)
class RepoInfo:
    """What a run needs to clone a repository: its default branch and its clone URL."""

    default_branch: str
    clone_url: str


@dataclass(frozen=True)
class PullRef:
    """A pull request as the run lifecycle and the review gate read it."""

    number: int
    html_url: str
    head_ref: str
    head_sha: str
    state: str
    merged: bool
    author: str


class RunGitHubClient(GitHubClient, Protocol):
    """The further calls a writing run makes: read the issue, open its pull request, set its review status."""

    async def repository_info(self, repo: RepoId) -> RepoInfo: ...

    async def get_issue(self, repo: RepoId, number: int) -> IssueRecord: ...

    async def find_open_pull(self, repo: RepoId, head_branch: str) -> PullRef | None:
        """The open pull request from this branch of the same repository, if any."""

    async def create_pull(self, repo: RepoId, *, title: str, body: str, head: str, base: str) -> PullRef: ...

    async def get_pull(self, repo: RepoId, number: int) -> PullRef: ...

    async def linked_pulls(self, repo: RepoId, number: int, limit: int) -> list[int]:
        """Pull requests of this repository that mention the issue (its timeline's `cross-referenced`
        events whose source is a pull request), oldest first, at most `limit`."""

    async def set_status(
        self, repo: RepoId, sha: str, state: str, *, context: str, description: str, target_url: str = ""
    ) -> None:
        """A commit status (pending, success, failure, error) under `context`."""

    async def status_of(self, repo: RepoId, sha: str, context: str) -> str | None:
        """The latest state of `context` on the commit, or None when it has none (look before setting)."""


@dataclass(frozen=True)
class CheckAnnotation:
    """One line annotation of a check run (GitHub takes at most 50 per request)."""

    path: str
    line: int
    message: str
    title: str = ""
    level: str = "failure"


class CheckGitHubClient(GitHubClient, Protocol):
    """Checks on a commit: one named check run, created or brought up to date."""

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
        """Complete the check run `name` on `sha` (updating ours when it exists); its id."""
