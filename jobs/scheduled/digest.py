"""The weekly review: every hour one worker lists the App's installations and their repositories (App JWT,
then a read-only installation token; paginated and bounded), reads each repository's `.github/steward.yml`
as the worker does, and publishes the digest of each whose day and hour have come, in its time zone.

A week's digest is published once (jobs/digest/publish.py); a pass in the hour after it edits it (a retried
pass converges), and a pass later in the week publishes it only if none was (the worker was down at the hour).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from app.config.loader import load_repo_config
from app.github.client import GitHubKitClient, app_github, token_github
from app.github.errors import GitHubRefused, GitHubUnavailable, RateLimited
from app.github.protocol import RepoId
from app.github.redact import register_secret
from app.github.retrying import DEFAULT_POLICY, RetryPolicy, request
from app.settings import Settings
from jobs.context import db_sessions, settings_of
from jobs.digest.build import build
from jobs.digest.client import DigestClient, DigestRefused, digest_client, publishing
from jobs.digest.publish import publish
from jobs.digest.render import marker
from jobs.digest.window import Window, due
from jobs.failures import guarded_text
from jobs.models.digests import DigestRow
from jobs.scheduled.registry import Scheduled, once, register

log = logging.getLogger(__name__)

NAME = "weekly_digest"
MINUTE = 2
"""Minutes past each hour the pass runs: digests are due on the hour."""
EDIT_HOURS = 1
"""After its moment, a published week's digest is edited by passes for this long, then left alone."""
MAX_PAGES = 10
"""Pages of 100 installations, and of 100 repositories per installation, read per pass."""
LIST_ONLY = {"contents": "read", "metadata": "read"}
"""The installation-wide token of a pass: list repositories, read their configuration; nothing else."""


@dataclass
class Tally:
    repositories: int = 0
    published: int = 0
    edited: int = 0
    failed: int = 0
    left: int = 0

    def line(self) -> str:
        text = (
            f"{self.repositories} repositories read: {self.published} digests published, "
            f"{self.edited} edited, {self.failed} failed"
        )
        return text + (f", {self.left} left for the next pass" if self.left else "")


async def _pages(gh: Any, url: str, key: str | None, policy: RetryPolicy) -> AsyncIterator[dict[str, Any]]:
    nxt: str | None = url
    params: dict[str, Any] | None = {"per_page": 100}
    for _ in range(MAX_PAGES):
        if nxt is None:
            return
        response = await request(gh, "GET", nxt, policy, params=params)
        data = response.raw_response.json() if response.raw_response.content else []
        items = data.get(key) if key and isinstance(data, dict) else data
        for entry in items if isinstance(items, list) else []:
            if isinstance(entry, dict):
                yield entry
        link = response.raw_response.links.get("next", {}).get("url")
        nxt, params = (str(link), None) if link else (None, None)


async def _wide_token(app_gh: Any, installation_id: int, policy: RetryPolicy) -> str:
    response = await request(
        app_gh,
        "POST",
        f"app/installations/{installation_id}/access_tokens",
        policy,
        json={"permissions": LIST_ONLY},
    )
    token = str(response.raw_response.json()["token"])
    register_secret(token)
    return token


async def _settled(sessions: Any, repo: str, window: Window, now: datetime) -> bool:
    """Whether this week's digest is out and its editing hour is over."""
    if now < window.end + timedelta(hours=EDIT_HOURS):
        return False
    async with sessions() as session:
        number = await session.scalar(
            select(DigestRow.number).where(DigestRow.repo == repo, DigestRow.week == window.week)
        )
    return number is not None


async def digest_pass(
    settings: Settings,
    sessions: Any,
    *,
    redis: Any = None,
    now: datetime | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> str:
    now = now or datetime.now(UTC)
    tally = Tally()
    app_gh = app_github(settings, transport=transport)
    async for installation in _pages(app_gh, "app/installations", None, policy):
        if not isinstance(installation.get("id"), int) or installation.get("suspended_at"):
            continue
        try:
            await _installation(
                settings, sessions, redis, app_gh, installation["id"], now, transport, policy, tally
            )
        except (
            GitHubRefused,
            GitHubUnavailable,
            RateLimited,
        ) as exc:  # one installation never stops the rest
            tally.failed += 1
            log.warning("installation %s: its repositories could not be listed: %s", installation["id"], exc)
        if tally.repositories >= settings.digest_max_repositories:
            return tally.line() + " (repository bound reached)"
    return tally.line()


async def _installation(
    settings: Settings,
    sessions: Any,
    redis: Any,
    app_gh: Any,
    installation_id: int,
    now: datetime,
    transport: httpx.AsyncBaseTransport | None,
    policy: RetryPolicy,
    tally: Tally,
) -> None:
    """Each repository of one installation, read with a token that may only list them and read files."""
    token = await _wide_token(app_gh, installation_id, policy)
    wide = token_github(settings, token, transport)
    reader = GitHubKitClient(wide, policy)
    async with wide:  # one HTTP client (and TLS context) for the installation's reads, not one per request
        async for data in _pages(wide, "installation/repositories", "repositories", policy):
            name = data.get("full_name")
            if data.get("archived") or not isinstance(name, str) or name.count("/") != 1:
                continue
            tally.repositories += 1
            repo = RepoId.parse(name)
            await _one(
                settings, sessions, redis, reader, installation_id, repo, now, transport, policy, tally
            )
            if tally.repositories >= settings.digest_max_repositories:
                return  # before the next page is asked for


async def _one(
    settings: Settings,
    sessions: Any,
    redis: Any,
    reader: GitHubKitClient,
    installation_id: int,
    repo: RepoId,
    now: datetime,
    transport: httpx.AsyncBaseTransport | None,
    policy: RetryPolicy,
    tally: Tally,
) -> None:
    """One repository: due? then gather, write and publish; its failure is told and never stops the pass."""
    try:
        config = (await load_repo_config(reader, repo, cache=redis)).config.digest
        window = due(config, now)
        if window is None or await _settled(sessions, repo.full_name, window, now):
            return
        if tally.published + tally.edited >= settings.digest_max_per_pass:
            tally.left += 1
            return
        permissions = publishing(bool(config.discussion))
        gh: DigestClient = await digest_client(
            settings, installation_id, repo, permissions, transport=transport, policy=policy
        )
        async with gh.github:  # one HTTP client for the repository's reads and writes
            _, body = await build(gh, sessions, window, config, settings.github_web_url)
            done = await publish(
                gh,
                sessions,
                week=window.week,
                title=window.title,
                body=body,
                marker=marker(window.week),
                category=config.discussion,
                bot_login=settings.bot_login,
                now=now,
            )
    except (GitHubRefused, GitHubUnavailable, RateLimited, DigestRefused) as exc:
        tally.failed += 1
        log.warning("%s: no weekly digest: %s", repo.full_name, exc)
        return
    if done.action == "created":
        tally.published += 1
    elif done.action in ("edited", "unchanged"):
        tally.edited += 1
    log.info("%s: weekly digest %s %s %s", repo.full_name, window.week, done.action, done.url or "")


async def weekly_digest(ctx: dict[str, Any]) -> str:
    """The scheduled job: one worker per period runs the pass."""
    if not await once(ctx):
        return "another worker ran this period's pass"
    work = digest_pass(
        settings_of(ctx),
        db_sessions(ctx),
        redis=ctx.get("redis"),
        transport=ctx.get("github_transport"),
        policy=ctx.get("github_retry", DEFAULT_POLICY),
    )
    outcome = await guarded_text(ctx, None, work)
    log.info("%s: %s", NAME, outcome)
    return outcome


register(
    Scheduled(
        NAME,
        weekly_digest,
        lambda settings: {MINUTE} if settings.app_id and settings.digest_pass else None,
        "publish the weekly review digests repositories ask for (digest.enabled)",
    )
)
