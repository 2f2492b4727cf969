"""What a revision reads from its pull request: the review comments by people, and who else pushed."""

from __future__ import annotations

from typing import Protocol

from app.github.protocol import RepoId, RunGitHubClient
from app.github.reviews import CommitRecord, ReviewCommentRecord, ReviewRecord
from jobs.runs.revision.model import PushedCommit, ReviewNote

MAX_NOTES = 30
"""The most review comments one revision reads (the newest win)."""
NOTE_CHARS = 4000
"""The most of one comment's text kept in the plan and shown to the agent."""
MAX_LISTED = 300
"""The most reviews, comments or commits read from GitHub per list."""
STEWARD_TRAILER = "Steward-Run: r-"


class ReviewGitHubClient(RunGitHubClient, Protocol):
    """The calls a revision adds: the pull request's reviews, review comments and commits."""

    async def pull_reviews(self, repo: RepoId, number: int, limit: int) -> list[ReviewRecord]: ...

    async def pull_review_comments(
        self, repo: RepoId, number: int, limit: int
    ) -> list[ReviewCommentRecord]: ...

    async def pull_commits(self, repo: RepoId, number: int, limit: int) -> list[CommitRecord]: ...


def _by_person(login: str, kind: str, bot: str) -> bool:
    return bool(login) and login.lower() != bot.lower() and kind != "Bot"


def _review_note(review: ReviewRecord) -> ReviewNote:
    return ReviewNote(
        id=f"review-{review.id}", kind="review", author=review.author, body=review.body[:NOTE_CHARS],
        url=review.html_url, state=review.state,
    )  # fmt: skip


def _comment_note(comment: ReviewCommentRecord) -> ReviewNote:
    return ReviewNote(
        id=f"comment-{comment.id}", kind="comment", author=comment.author, body=comment.body[:NOTE_CHARS],
        path=comment.path, line=comment.line, url=comment.html_url,
    )  # fmt: skip


async def review_notes(
    gh: ReviewGitHubClient, repo: RepoId, pull: int, bot: str, since: str = ""
) -> list[ReviewNote]:
    """People's reviews with a body and their line comments, oldest first; only those after `since` (an
    ISO time: the previous revision's) so a second revision reads what came after the first."""
    found: list[tuple[str, ReviewNote]] = []
    for review in await gh.pull_reviews(repo, pull, MAX_LISTED):
        if (
            _by_person(review.author, review.author_type, bot)
            and review.body.strip()
            and review.state != "dismissed"
        ):
            found.append((review.submitted_at, _review_note(review)))
    for comment in await gh.pull_review_comments(repo, pull, MAX_LISTED):
        if _by_person(comment.author, comment.author_type, bot) and comment.body.strip():
            found.append((comment.created_at, _comment_note(comment)))
    found = [(at, note) for at, note in found if not since or at > since]
    found.sort(key=lambda pair: pair[0])
    return [note for _, note in found[-MAX_NOTES:]]


async def pushed_by_people(gh: ReviewGitHubClient, repo: RepoId, pull: int, bot: str) -> list[PushedCommit]:
    """The pull request's commits Steward did not make (no `Steward-Run` trailer, or another author)."""
    commits = await gh.pull_commits(repo, pull, MAX_LISTED)
    return [
        PushedCommit(sha=commit.sha, author=commit.author)
        for commit in commits
        if STEWARD_TRAILER not in commit.message or (commit.author and commit.author.lower() != bot.lower())
    ]
