"""Converge on one marked comment: find Steward's earlier answer by its hidden marker and update it."""

from __future__ import annotations

import re

from app.github.protocol import GitHubClient, IssueComment, RepoId

MAX_BODY_UNITS = 65_000
"""GitHub refuses a comment or pull-request body above 65,536 characters; counted here in UTF-16 units (the
stricter count), with room to spare."""
MAX_KEPT_MARKERS = 50
_MARKER = re.compile(r"<!-- /?steward:[^<>\n]{0,120}-->")
_CUT = "\n\n*(The rest of this text, {count:,} more characters, was cut to fit GitHub's limit.)*\n"


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def bounded_body(body: str, limit: int = MAX_BODY_UNITS) -> str:
    """The body cut to what GitHub accepts, saying so; every hidden marker of Steward's is kept, so the
    comment is still found and edited rather than posted again."""
    if _units(body) <= limit:
        return body
    markers = list(dict.fromkeys(_MARKER.findall(body)))[:MAX_KEPT_MARKERS]
    room = limit - _units(_CUT.format(count=len(body))) - sum(_units(m) + 1 for m in markers)
    head = body[:room]
    while (excess := _units(head) - room) > 0:  # astral characters count twice: a few rounds at most
        head = head[: len(head) - (excess + 1) // 2]
    opened = head.rfind("<!--")
    if opened > head.rfind("-->"):  # never leave a marker half-cut
        head = head[:opened]
    kept = "".join(f"{marker}\n" for marker in markers if marker not in head)
    return head + _CUT.format(count=len(body) - len(head)) + kept


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
    text = bounded_body(with_marker(marker, body))
    existing = await find_marked(gh, repo, number, marker, author)
    if existing is None:
        return await gh.create_comment(repo, number, text)
    if existing.body.strip() == text.strip():
        return existing
    return await gh.update_comment(repo, existing.id, text)
