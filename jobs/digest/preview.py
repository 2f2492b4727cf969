"""`steward digest --dry-run`: one repository's digest over a span up to now, through the operator's App
credentials, printed and never posted."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.exc import SQLAlchemyError

from app.config.cache import MemoryConfigCache
from app.config.loader import load_repo_config
from app.github.client import GitHubKitClient, app_github
from app.github.errors import GitHubRefused
from app.github.protocol import RepoId
from app.github.retrying import DEFAULT_POLICY, RetryPolicy, request
from app.settings import Settings
from jobs.db import make_engine, migrate, sessions
from jobs.digest.build import build
from jobs.digest.client import READ, DigestClient, digest_client
from jobs.digest.window import since

_REPO = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")


class PreviewError(Exception):
    """What the operator got wrong or lacks, in one sentence."""


def parse_repo(text: str) -> RepoId:
    if not _REPO.match(text) or text.split("/")[1] in (".", ".."):
        raise PreviewError(f"--repo {text[:80]!r}: use OWNER/NAME, e.g. octo-org/octo-repo")
    return RepoId.parse(text)


async def _installation(settings: Settings, repo: RepoId, transport: httpx.AsyncBaseTransport | None) -> int:
    app_gh = app_github(settings, transport=transport)
    try:
        response = await request(app_gh, "GET", f"repos/{repo.full_name}/installation", DEFAULT_POLICY)
    except GitHubRefused as exc:
        if exc.status == 404:
            app = f"the App (id {settings.app_id})"
            raise PreviewError(
                f"{repo.full_name}: no such repository, or {app} is not installed there"
            ) from None
        if exc.status == 401:
            raise PreviewError(
                "GitHub refused the App's credentials (401): check STEWARD_APP_ID and the private key"
            ) from None
        raise
    return int(response.raw_response.json()["id"])


async def preview(
    settings: Settings,
    repo: RepoId,
    span: timedelta,
    *,
    now: datetime | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> tuple[str, list[str]]:
    """The digest's body and the warnings worth telling (a configuration with errors)."""
    settings.require("app_id", "private_key")
    installation_id = await _installation(settings, repo, transport)
    gh = await digest_client(settings, installation_id, repo, READ, transport=transport, policy=policy)
    async with gh.github:  # one HTTP client for every read
        return await _read(settings, gh, span, now, policy)


async def _read(
    settings: Settings, gh: DigestClient, span: timedelta, now: datetime | None, policy: RetryPolicy
) -> tuple[str, list[str]]:
    repo = gh.repo
    reader = GitHubKitClient(gh.github, policy)
    result = await load_repo_config(reader, repo, cache=MemoryConfigCache())
    warnings = [f".github/steward.yml: {e.field}: {e.message} (defaults used)" for e in result.errors]
    engine = make_engine(settings.db_url)
    try:
        ledger: Any = sessions(engine)
        try:
            await migrate(engine)
        except (SQLAlchemyError, OSError) as exc:  # the digest without Steward's runs, rather than none
            warnings.append(
                f"the ledger cannot be opened ({type(exc).__name__}); Steward's own runs are left out"
            )
            ledger = None
        window = since(span, now or datetime.now(UTC))
        _, body = await build(gh, ledger, window, result.config.digest, settings.github_web_url)
    finally:
        await engine.dispose()
    return body, warnings
