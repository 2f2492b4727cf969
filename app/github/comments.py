"""Converge on one marked comment: find Steward's earlier answer by its hidden marker and update it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

from app.github.protocol import GitHubClient, IssueComment, RepoId

MAX_BODY_UNITS = 65_000
"""GitHub refuses a comment or pull-request body above 65,536 characters; counted here in UTF-16 units (the
stricter count), with room to spare."""
MAX_KEPT_MARKERS = 50
_MARKER = re.compile(r"<!-- /?steward:[^<>\n]{0,120}-->")
_CLOSE_ROOM = 16
"""Units kept to close a code fence the cut falls in (a longer fence makes its own room)."""
_CUT = "\n\n*(The rest of this text, {count:,} more characters, was cut to fit GitHub's limit.)*\n"


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@cache
def _blocks() -> MarkdownIt:
    """CommonMark's block structure only: enough to tell which block a line falls in."""
    return MarkdownIt("commonmark").enable("table").disable(["inline", "text_join"])


def _whole_lines(body: str, room: int) -> str:
    """The longest start of the body within `room` units that ends at a line's end and never half-cuts a
    marker: a cut mid-line could split a code span and make what it quoted (`@team`) live. With no line end
    in reach, the text before the line's first backtick (it holds no code to split)."""
    head = body[:room]
    while (excess := _units(head) - room) > 0:  # astral characters count twice: a few rounds at most
        head = head[: len(head) - (excess + 1) // 2]
    opened = head.rfind("<!--")
    if opened > head.rfind("-->"):
        head = head[:opened]
    if body[len(head) : len(head) + 1] not in ("\n", "\r"):
        end = max(head.rfind("\n"), head.rfind("\r"))
        head = head[:end] if end >= 0 else head.partition("`")[0]
    return head.rstrip("\r\n")


def _swallower(head: str, after: str) -> Token | None:
    """The top-level block that what comes after the head (a blank line, then text) would fall into."""
    line = head.count("\n") + 2
    for token in _blocks().parse(head + after):
        if token.level == 0 and token.map and token.map[0] <= line < token.map[1]:
            return None if token.type == "paragraph_open" and token.map[0] == line else token
    return None


def _closed(head: str, after: str, budget: int) -> str:
    """The head, within `budget` units, with a code fence it leaves open closed and any other block that
    would swallow what comes after it left out, so the cut notice and the markers read as themselves."""
    head = re.sub(r"\r\n?", "\n", head)  # lines as CommonMark counts them
    for _ in range(8):  # a fence: make room, close it; other blocks: leave them out (the head only shrinks)
        block = _swallower(head, after)
        if block is None:
            return head
        assert block.map is not None
        close = f"\n{block.markup}"
        if block.type == "fence" and _units(head + close) <= budget:
            head += close
        elif block.type == "fence" and _units(close) <= budget // 2:
            head = _whole_lines(head, budget - _units(close))
        else:
            head = "\n".join(head.split("\n")[: block.map[0]]).rstrip("\n")
    return ""  # never reached by what CommonMark parses; the markers are still kept


def bounded_body(body: str, limit: int = MAX_BODY_UNITS) -> str:
    """The body cut to what GitHub accepts at a line's end, saying so; a code fence cut open is closed, and
    every hidden marker of Steward's is kept, so the comment is still found and edited rather than posted
    again."""
    if _units(body) <= limit:
        return body
    markers = list(dict.fromkeys(_MARKER.findall(body)))[:MAX_KEPT_MARKERS]
    notice = _CUT.format(count=len(body))
    room = limit - _units(notice) - sum(_units(m) + 1 for m in markers)
    head = _closed(_whole_lines(body, room - _CLOSE_ROOM), notice, room)
    kept = "".join(f"{marker}\n" for marker in markers if marker not in head)
    return head + _CUT.format(count=len(body) - len(head)) + kept  # a smaller count: no longer


def github_time(value: str | None) -> str | None:
    """A timestamp from a payload as GitHub's `since` parameter takes it (UTC, to the second); None when it
    is absent or not a time, so the caller reads every comment instead."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def with_marker(marker: str, body: str) -> str:
    """The body with its marker on the first line (bodies that already start with it are kept)."""
    return body if body.startswith(marker) else f"{marker}\n{body}"


async def find_marked(
    gh: GitHubClient, repo: RepoId, number: int, marker: str, author: str, since: str | None = None
) -> IssueComment | None:
    """Steward's own comment carrying `marker` (comments by anyone else never count, even with the marker)."""
    for comment in await gh.list_comments(repo, number, since):
        if comment.author.lower() == author.lower() and marker in comment.body:
            return comment
    return None


async def upsert_comment(
    gh: GitHubClient,
    repo: RepoId,
    number: int,
    marker: str,
    body: str,
    *,
    author: str,
    since: str | None = None,
) -> IssueComment:
    """Post the marked comment once; later calls edit it (and skip the edit when nothing changed).

    `since`: a time before which the marked comment cannot have been posted (the reply to a command is
    younger than the command), so only the comments updated since are read."""
    text = bounded_body(with_marker(marker, body))
    existing = await find_marked(gh, repo, number, marker, author, since)
    if existing is None:
        return await gh.create_comment(repo, number, text)
    if existing.body.strip() == text.strip():
        return existing
    return await gh.update_comment(repo, existing.id, text)
