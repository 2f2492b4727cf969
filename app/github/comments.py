"""Converge on one marked comment: find Steward's earlier answer by its hidden marker and update it."""

from __future__ import annotations

from app.github.protocol import GitHubClient, IssueComment, RepoId


def with_marker(marker: str, body: str) -> str:
    """The body with its marker on the first line (bodies that already start with it are kept)."""
    return body if body.startswith(marker) else f"{marker}\n{body}"


async def find_marked(
    gh: GitHubClient, repo: RepoId, number: int, marker: str, author: str
) -> IssueComment | None:
    """Steward's own comment carrying `marker` (comments by anyone else never count, even with the marker)."""
    for comment in await gh.list_comments(repo, number):
        if comment.author.lower() == author.lower() and marker in comment.body:
            return comment
    return None


async def upsert_comment(
    gh: GitHubClient, repo: RepoId, number: int, marker: str, body: str, *, author: str
) -> IssueComment:
    """Post the marked comment once; later calls edit it (and skip the edit when nothing changed)."""
    text = with_marker(marker, body)
    existing = await find_marked(gh, repo, number, marker, author)
    if existing is None:
        return await gh.create_comment(repo, number, text)
    if existing.body.strip() == text.strip():
        return existing
    return await gh.update_comment(repo, existing.id, text)
