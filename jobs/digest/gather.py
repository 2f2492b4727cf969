"""What GitHub says about a repository's week: merged pull requests, issues opened and closed, reviews waited
for, stale pull requests and first-time contributors; every list newest first and bounded in pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.config.model import DigestConfig
from app.github.errors import GitHubRefused, RateLimited
from jobs.digest.client import PER_PAGE, DigestClient
from jobs.digest.facts import GitHubFacts, Item
from jobs.digest.window import Window

MAX_PAGES = 5
"""Pages of 100 read per list (500 items): a busy repository's week, with room to spare."""
MAX_FIRST_TIME_CHECKS = 10
"""Authors of merged pull requests whose earlier merged work is looked up (one search each)."""
FIRST_TIME = {"FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER"}
"""GitHub's `author_association` for someone whose first contribution to the repository this is."""


def when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _login(data: dict[str, Any]) -> str:
    user = data.get("user")
    return str(user.get("login") or "") if isinstance(user, dict) else ""


def _is_bot(data: dict[str, Any]) -> bool:
    user = data.get("user")
    kind = str(user.get("type") or "") if isinstance(user, dict) else ""
    return kind.lower() == "bot" or _login(data).endswith("[bot]")


def item(data: dict[str, Any], at: datetime | None = None, note: str = "") -> Item | None:
    number = data.get("number")
    if not isinstance(number, int) or isinstance(number, bool):
        return None
    return Item(
        number=number,
        title=str(data.get("title") or ""),
        url=str(data.get("html_url") or ""),
        author=_login(data),
        at=at,
        note=note,
    )


async def _merged(gh: DigestClient, window: Window, facts: GitHubFacts) -> list[dict[str, Any]]:
    """Closed pull requests by last update, newest first: read until one was last updated before the window
    (a pull request merged in it was updated in it too)."""
    found: list[dict[str, Any]] = []
    params = {"state": "closed", "sort": "updated", "direction": "desc"}
    pages, full = 0, False
    async for page in gh.pages(f"repos/{gh.repo.full_name}/pulls", params, MAX_PAGES):
        pages, full = pages + 1, len(page) >= PER_PAGE
        found += [pull for pull in page if window.holds(when(pull.get("merged_at")))]
        if not page or any((when(p.get("updated_at")) or window.end) < window.start for p in page):
            return found
    if pages >= MAX_PAGES and full:
        facts.truncated.append("merged pull requests")
    return found


async def _issues(gh: DigestClient, window: Window, facts: GitHubFacts) -> None:
    """Issues (not pull requests) updated since the window began: those opened and those closed in it."""
    params = {"state": "all", "since": window.start.strftime("%Y-%m-%dT%H:%M:%SZ"), "sort": "updated"}
    pages = 0
    async for page in gh.pages(
        f"repos/{gh.repo.full_name}/issues", {**params, "direction": "desc"}, MAX_PAGES
    ):
        pages += 1
        for data in page:
            if "pull_request" in data:
                continue
            opened, closed = when(data.get("created_at")), when(data.get("closed_at"))
            if window.holds(opened) and (found := item(data, opened)) is not None:
                facts.opened.append(found)
            reason = "not planned" if data.get("state_reason") == "not_planned" else ""
            if window.holds(closed) and (found := item(data, closed, reason)) is not None:
                facts.closed.append(found)
        if len(page) < PER_PAGE:
            return
    if pages >= MAX_PAGES:
        facts.truncated.append("issues")


async def _open_pulls(
    gh: DigestClient, window: Window, config: DigestConfig, facts: GitHubFacts
) -> list[Any]:
    """Open pull requests, oldest first: who they wait on, which are stale, which are someone's first."""
    found: list[dict[str, Any]] = []
    pages = 0
    params = {"state": "open", "sort": "created", "direction": "asc"}
    async for page in gh.pages(f"repos/{gh.repo.full_name}/pulls", params, MAX_PAGES):
        pages += 1
        found += page
        if len(page) < PER_PAGE:
            break
    else:
        if pages >= MAX_PAGES:
            facts.truncated.append("open pull requests")
    stale_before = window.end - timedelta(days=config.stale_days)
    for data in found:
        created, updated = when(data.get("created_at")), when(data.get("updated_at"))
        waits_on = _requested(data, gh.repo.owner)
        if waits_on and not data.get("draft") and (waiting := item(data, created)) is not None:
            facts.waiting.append(waiting)
            for who in waits_on:
                facts.reviewers.setdefault(who, []).append(waiting)
        if updated is not None and updated < stale_before and (stale := item(data, updated)) is not None:
            facts.stale.append(stale)
    facts.stale.sort(key=lambda i: i.at or window.end)
    return found


def _requested(data: dict[str, Any], owner: str) -> list[str]:
    """The pull request's pending review requests: logins, and teams as `org/slug`."""
    people = [str(u.get("login")) for u in data.get("requested_reviewers") or [] if isinstance(u, dict)]
    teams = [f"{owner}/{t.get('slug')}" for t in data.get("requested_teams") or [] if isinstance(t, dict)]
    return [who for who in people + teams if who and not who.endswith("/None")]


async def _earlier_merges(gh: DigestClient, login: str) -> int | None:
    """How many of this author's pull requests were ever merged here (GitHub's search); None if unknown."""
    query = f"repo:{gh.repo.full_name} is:pr is:merged author:{login}"
    try:
        data = await gh.json("GET", "search/issues", params={"q": query, "per_page": 1})
    except (GitHubRefused, RateLimited):  # search has its own, tighter rate limit: unknown, not fatal
        return None
    total = data.get("total_count") if isinstance(data, dict) else None
    return total if isinstance(total, int) and not data.get("incomplete_results") else None


async def _first_timers(
    gh: DigestClient, window: Window, merged: list[dict[str, Any]], open_pulls: list[Any], facts: GitHubFacts
) -> None:
    """Pull requests of the window by people contributing for the first time: open ones GitHub marks as a
    first contribution, and merged ones whose author has no merged pull request here before the window."""
    for data in open_pulls:
        if data.get("author_association") in FIRST_TIME and not _is_bot(data):
            created = when(data.get("created_at"))
            if window.holds(created) and (found := item(data, created, "opened")) is not None:
                facts.first_timers.setdefault(found.author, []).append(found)
    by_author: dict[str, list[dict[str, Any]]] = {}
    for data in merged:
        if not _is_bot(data) and _login(data) and data.get("author_association") not in ("OWNER", "MEMBER"):
            by_author.setdefault(_login(data), []).append(data)
    for login, pulls in list(by_author.items())[:MAX_FIRST_TIME_CHECKS]:
        total = await _earlier_merges(gh, login)
        if total is not None and total <= len(pulls):  # every merge of theirs is this window's
            for data in pulls:
                if (found := item(data, when(data.get("merged_at")), "merged")) is not None:
                    facts.first_timers.setdefault(login, []).append(found)


async def gather(gh: DigestClient, window: Window, config: DigestConfig) -> GitHubFacts:
    facts = GitHubFacts()
    merged = await _merged(gh, window, facts)
    facts.merged = [m for data in merged if (m := item(data, when(data.get("merged_at")))) is not None]
    await _issues(gh, window, facts)
    open_pulls = await _open_pulls(gh, window, config, facts)
    await _first_timers(gh, window, merged, open_pulls, facts)
    for items in (facts.merged, facts.opened, facts.closed):
        items.sort(key=lambda i: (i.at or window.end, i.number))
    return facts
