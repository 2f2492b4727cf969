"""The digest's Markdown: each count links to its items (a GitHub search, or the items listed under it), all
outside text made inert, so the digest pings nobody, and the whole within GitHub's body limit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from app.config.model import DigestConfig
from app.constants import MARKER_DIGEST
from app.github.comments import MAX_BODY_UNITS, bounded_body
from app.github.untrusted import inline
from jobs.digest.facts import GitHubFacts, Item, LedgerFacts
from jobs.digest.window import Window

TITLE_CHARS = 120


def marker(week: str) -> str:
    return MARKER_DIGEST.format(week=week)


@dataclass(frozen=True)
class Digest:
    repo: str
    window: Window
    config: DigestConfig
    github: GitHubFacts
    ledger: LedgerFacts
    web_url: str = "https://github.com"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _search(digest: Digest, kind: str, query: str) -> str:
    return f"{digest.web_url.rstrip('/')}/{digest.repo}/{kind}?q={quote_plus(query)}"


def _count(number: int, url: str | None) -> str:
    return f"[{number}]({url})" if url and number else str(number)


def _age(since: datetime | None, now: datetime) -> str:
    if since is None:
        return ""
    days = (now - since) // timedelta(days=1)
    return "today" if days < 1 else f"{days} day{'s' if days != 1 else ''}"


def _line(item: Item, *, author: bool = True, age: str = "") -> str:
    words = [f"[#{item.number}]({item.url})"]
    if item.title:
        words.append(inline(item.title, TITLE_CHARS))
    if author and item.author:
        words.append(f"by {inline(item.author, 60)}")
    if age:
        words.append(f"({age})")
    if item.note:
        words.append(f"- {inline(item.note, 200)}")
    return "- " + " ".join(words)


def _section(title: str, items: list[Item], most: int, url: str | None = None, **how: object) -> list[str]:
    lines = [f"### {title}: {_count(len(items), url)}", ""]
    if not items:
        return [*lines, "None.", ""]
    lines += [_line(item, **how) for item in items[:most]]  # type: ignore[arg-type]
    left = len(items) - most
    if left > 0:
        lines.append(f"- and {left} more" + (f" ([all of them]({url}))" if url else ""))
    return [*lines, ""]


def _links(items: list[Item], most: int) -> str:
    shown = ", ".join(f"[#{item.number}]({item.url})" for item in items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def _github(digest: Digest, most: int) -> list[str]:
    w, facts, end = digest.window, digest.github, digest.window.end
    span = f"{_stamp(w.start)}..{_stamp(w.end)}"
    stale_before = (end - timedelta(days=digest.config.stale_days)).strftime("%Y-%m-%d")
    lines = _section(
        "Pull requests merged", facts.merged, most, _search(digest, "pulls", f"is:pr is:merged merged:{span}")
    )
    lines += _section(
        "Issues opened", facts.opened, most, _search(digest, "issues", f"is:issue created:{span}")
    )
    lines += _section(
        "Issues closed", facts.closed, most, _search(digest, "issues", f"is:issue closed:{span}")
    )
    waiting = [_line(i, age=_age(i.at, end)) for i in facts.waiting[:most]]
    lines += [f"### Waiting longest for review: {len(facts.waiting)}", "", *(waiting or ["None."]), ""]
    lines += _section(
        f"Stale pull requests (no update for {digest.config.stale_days} days)",
        facts.stale,
        most,
        _search(digest, "pulls", f"is:pr is:open updated:<{stale_before}"),
    )
    lines += [f"### First-time contributors: {len(facts.first_timers)}", ""]
    for login, items in list(facts.first_timers.items())[:most]:
        lines.append(f"- {inline(login, 60)}: {_links(items, most)}")
    lines += [] if facts.first_timers else ["None."]
    lines.append("")
    return lines


def _ledger(digest: Digest, most: int) -> list[str]:
    facts = digest.ledger
    lines = [
        "### Steward's own runs",
        "",
        f"{facts.runs} run{'s' if facts.runs != 1 else ''} started, {facts.tokens:,} model tokens, "
        f"cost {facts.cost:.2f}.",
        "",
    ]
    for name, items in (
        ("Proposed", facts.proposed),
        ("Merged", facts.merged),
        ("Closed unmerged", facts.closed),
        ("Failed", facts.failed),
    ):
        lines.append(f"- {name}: {len(items)}" + (f" ({_links(items, most)})" if items else ""))
    lines += ["", "### Duplicates", ""]
    lines.append(f"- Flagged by Steward: {len(facts.flagged)}" + _listed(facts.flagged, most))
    lines.append(f"- Closed as duplicates: {len(facts.confirmed)}" + _listed(facts.confirmed, most))
    lines.append(f"- Said not to be duplicates: {len(facts.corrected)}" + _listed(facts.corrected, most))
    return [*lines, ""]


def _listed(items: list[Item], most: int) -> str:
    return f" ({_links(items, most)})" if items else ""


def _blocked(digest: Digest, most: int) -> list[str]:
    lines = ["### Blocked on whom", ""]
    reviewers = sorted(digest.github.reviewers.items(), key=lambda kv: (-len(kv[1]), kv[0].lower()))
    for who, items in reviewers[:most]:
        # GitHub's own search for the same set: direct requests of a person, or of a team
        qualifier = "team-review-requested" if "/" in who else "user-review-requested"
        url = _search(digest, "pulls", f"is:pr is:open draft:false {qualifier}:{who}")
        lines.append(f"- review by {inline(who, 80)}: {_count(len(items), url)} ({_links(items, most)})")
    approvals = digest.ledger.awaiting_approval
    if approvals:
        lines.append(f"- a maintainer's `/steward approve`: {len(approvals)} ({_links(approvals, most)})")
    if len(lines) == 2:
        lines.append("Nothing waits on anyone.")
    return [*lines, ""]


def _head(digest: Digest) -> list[str]:
    zone = ZoneInfo(digest.config.timezone)
    start, end = (
        moment.astimezone(zone).strftime("%a %Y-%m-%d %H:%M")
        for moment in (digest.window.start, digest.window.end)
    )
    lines = [
        marker(digest.window.week),
        f"## {digest.window.title}",
        "",
        f"{inline(digest.repo)}, from {start} to {end} ({digest.config.timezone}). Every count links to its "
        "items; names are written without @, so this digest notifies no one.",
        "",
    ]
    if digest.github.truncated:
        lines += [f"*Read in part (page bound reached): {', '.join(digest.github.truncated)}.*", ""]
    return lines


def render(digest: Digest, limit: int = MAX_BODY_UNITS) -> str:
    """The body, listing fewer items per section until it fits; GitHub's limit is the last guard."""
    most = digest.config.max_items
    while True:
        body = (
            "\n".join(
                [*_head(digest), *_github(digest, most), *_blocked(digest, most), *_ledger(digest, most)]
            ).rstrip()
            + "\n"
        )
        if len(body.encode("utf-16-le")) // 2 <= limit or most <= 1:
            return bounded_body(body, limit)
        most //= 2
