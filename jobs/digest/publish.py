"""Publish a week's digest once and edit it after: the ledger's row for (repository, week) names the issue or
Discussion; it is claimed before GitHub is asked, so two passes never open two, and a pass that died between
asking and recording finds its digest again by the week's hidden marker among the App's own recent items."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.github.errors import GitHubRefused
from jobs.digest.client import DigestClient, DigestRefused
from jobs.models.digests import DigestRow

log = logging.getLogger(__name__)

CLAIM_SECONDS = 600
"""A claim younger than this, without a number yet, is another pass at work (a pass takes at most 300 s)."""
RECENT = 100
"""The App's latest items searched for the week's marker after a pass died before recording its digest."""


@dataclass(frozen=True)
class Published:
    action: str
    """created, edited, unchanged or busy (another pass holds this week's claim)"""
    kind: str
    number: int | None = None
    url: str = ""


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _claim(sessions: Any, repo: str, week: str, kind: str, now: datetime) -> tuple[DigestRow, bool]:
    """The week's row, and whether this pass may publish: it claimed it, or an old claim never finished."""
    async with sessions() as session:
        row = await session.scalar(select(DigestRow).where(DigestRow.repo == repo, DigestRow.week == week))
        if row is None:
            row = DigestRow(repo=repo, week=week, kind=kind, created_at=now)
            session.add(row)
            try:
                await session.commit()
                return row, True
            except IntegrityError:
                await session.rollback()
                row = await session.scalar(
                    select(DigestRow).where(DigestRow.repo == repo, DigestRow.week == week)
                )
                assert row is not None
        if row.number is not None:
            return row, True
        if now - _aware(row.created_at) < timedelta(seconds=CLAIM_SECONDS):
            return row, False
        # An old claim that never finished: take it over, once (the row's time is the claim's).
        taken = await session.execute(
            update(DigestRow)
            .where(DigestRow.id == row.id, DigestRow.number.is_(None), DigestRow.created_at == row.created_at)
            .values(created_at=now)
        )
        await session.commit()
        return row, getattr(taken, "rowcount", 0) == 1


async def _record(sessions: Any, row_id: int, **values: Any) -> None:
    async with sessions() as session:
        await session.execute(update(DigestRow).where(DigestRow.id == row_id).values(**values))
        await session.commit()


async def publish(
    gh: DigestClient,
    sessions: Any,
    *,
    week: str,
    title: str,
    body: str,
    marker: str,
    category: str | None,
    bot_login: str,
    now: datetime | None = None,
) -> Published:
    now = now or datetime.now(UTC)
    repo = gh.repo.full_name
    row, mine = await _claim(sessions, repo, week, "discussion" if category else "issue", now)
    if not mine:
        return Published("busy", row.kind)
    # A published week keeps its kind; an unpublished one follows the configuration as it is now.
    kind = row.kind if row.number is not None else ("discussion" if category else "issue")
    number, node_id, url = row.number, row.node_id, row.url
    if number is None:
        found = await (
            _find_discussion(gh, marker, bot_login)
            if kind == "discussion"
            else _find_issue(gh, marker, bot_login)
        )
        if found is not None:
            number, node_id, url = found
            await _record(sessions, row.id, kind=kind, number=number, node_id=node_id, url=url)
            log.info("%s: found the %s digest of %s again by its marker: #%s", repo, kind, week, number)
    if number is not None:
        changed = await (
            _edit_discussion(gh, node_id or "", title, body)
            if kind == "discussion"
            else _edit_issue(gh, number, title, body)
        )
        if changed is not None:
            await _record(sessions, row.id, updated_at=now)
            return Published("edited" if changed else "unchanged", kind, number, url)
        log.info("%s: the %s digest #%s is gone; publishing it again", repo, week, number)
    if kind == "discussion" and category:
        number, node_id, url = await _create_discussion(gh, category, title, body)
    else:
        number, node_id, url = await _create_issue(gh, title, body)
    await _record(sessions, row.id, kind=kind, number=number, node_id=node_id, url=url, updated_at=now)
    return Published("created", kind, number, url)


# Issues (REST)


async def _find_issue(gh: DigestClient, marker: str, bot_login: str) -> tuple[int, str | None, str] | None:
    params = {"state": "all", "sort": "created", "direction": "desc", "per_page": RECENT}
    for data in await gh.json("GET", f"repos/{gh.repo.full_name}/issues", params=params) or []:
        if not isinstance(data, dict) or "pull_request" in data or not isinstance(data.get("number"), int):
            continue
        author = str((data.get("user") or {}).get("login") or "")
        if author.lower() == bot_login.lower() and marker in str(data.get("body") or ""):
            return int(data["number"]), None, str(data.get("html_url") or "")
    return None


async def _create_issue(gh: DigestClient, title: str, body: str) -> tuple[int, str | None, str]:
    data = await gh.json("POST", f"repos/{gh.repo.full_name}/issues", json={"title": title, "body": body})
    return int(data["number"]), None, str(data.get("html_url") or "")


async def _edit_issue(gh: DigestClient, number: int, title: str, body: str) -> bool | None:
    """Whether the issue was changed; None when it is gone (deleted, or moved to another repository)."""
    path = f"repos/{gh.repo.full_name}/issues/{number}"
    try:
        current = await gh.json("GET", path)
    except GitHubRefused as exc:
        if exc.status in (301, 404, 410):  # moved (transferred), deleted
            return None
        raise
    if isinstance(current, dict) and current.get("number") != number:
        return None  # GitHub followed a transfer to another repository's issue
    if (
        isinstance(current, dict)
        and current.get("title") == title
        and str(current.get("body") or "").strip() == body.strip()
    ):
        return False
    await gh.json("PATCH", path, json={"title": title, "body": body})
    return True


# Discussions (GraphQL: GitHub's REST API cannot create one)

_CATEGORIES = """query($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    id hasDiscussionsEnabled
    discussionCategories(first: 50) { nodes { id name } }
  }
}"""
_RECENT_DISCUSSIONS = """query($owner: String!, $name: String!, $first: Int!) {
  repository(owner: $owner, name: $name) {
    discussions(first: $first, orderBy: {field: CREATED_AT, direction: DESC}) {
      nodes { id number url body author { login } }
    }
  }
}"""
_CREATE = """mutation($repositoryId: ID!, $categoryId: ID!, $title: String!, $body: String!) {
  createDiscussion(
    input: {repositoryId: $repositoryId, categoryId: $categoryId, title: $title, body: $body}
  ) {
    discussion { id number url }
  }
}"""
_UPDATE = """mutation($discussionId: ID!, $title: String!, $body: String!) {
  updateDiscussion(input: {discussionId: $discussionId, title: $title, body: $body}) {
    discussion { id number url }
  }
}"""


def _names(gh: DigestClient) -> dict[str, Any]:
    return {"owner": gh.repo.owner, "name": gh.repo.name}


async def _find_discussion(
    gh: DigestClient, marker: str, bot_login: str
) -> tuple[int, str | None, str] | None:
    data = await gh.graphql(_RECENT_DISCUSSIONS, {**_names(gh), "first": RECENT})
    nodes = (((data.get("repository") or {}).get("discussions") or {}).get("nodes")) or []
    logins = {bot_login.lower(), bot_login.lower().removesuffix("[bot]")}  # GraphQL names a bot by its slug
    for node in nodes:
        author = str(((node or {}).get("author") or {}).get("login") or "").lower()
        if isinstance(node, dict) and author in logins and marker in str(node.get("body") or ""):
            return int(node["number"]), str(node["id"]), str(node.get("url") or "")
    return None


async def _create_discussion(
    gh: DigestClient, category: str, title: str, body: str
) -> tuple[int, str | None, str]:
    data = await gh.graphql(_CATEGORIES, _names(gh))
    repository = data.get("repository") or {}
    if not repository.get("hasDiscussionsEnabled"):
        raise DigestRefused(
            f"{gh.repo.full_name} has Discussions turned off; `digest.discussion` names {category!r}"
        )
    nodes = (repository.get("discussionCategories") or {}).get("nodes") or []
    names = {str(n.get("name")): str(n.get("id")) for n in nodes if isinstance(n, dict)}
    chosen = next((cid for name, cid in names.items() if name.casefold() == category.casefold()), None)
    if chosen is None:
        known = ", ".join(sorted(names)) or "none"
        raise DigestRefused(f"{gh.repo.full_name} has no Discussion category {category!r} (it has: {known})")
    variables = {"repositoryId": repository["id"], "categoryId": chosen, "title": title, "body": body}
    made = (await gh.graphql(_CREATE, variables))["createDiscussion"]["discussion"]
    return int(made["number"]), str(made["id"]), str(made.get("url") or "")


async def _edit_discussion(gh: DigestClient, node_id: str, title: str, body: str) -> bool | None:
    await gh.graphql(_UPDATE, {"discussionId": node_id, "title": title, "body": body})
    return True
