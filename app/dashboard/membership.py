"""Is a GitHub user still allowed into the dashboard? Asked with the App's own credentials, since the user's
token was dropped at sign-in: per allowed organisation, the App's installation there and a token for it with
`members: read` only, then the organisation's and its teams' membership of that login."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from app.dashboard.oauth import TIMEOUT_SECONDS, Verdict
from app.github.client import app_github
from app.github.errors import GitHubRefused, GitHubUnavailable, RateLimited
from app.github.redact import register_secret
from app.github.retrying import request
from app.settings import Settings

log = logging.getLogger("steward.dashboard")

PERMISSIONS = {"members": "read"}
"""What the re-check's token may do (app.yml asks for it: GitHub needs it to read org and team membership)."""


class RecheckFailed(Exception):
    """GitHub could not be asked (unreachable, 5xx, rate limit): the request waits, the session is kept."""


def _orgs(settings: Settings) -> Iterator[tuple[str, bool, list[str]]]:
    """Each organisation to ask: whether membership alone lets in, and which of its teams do."""
    teams: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for org in settings.dashboard_allowed_orgs:
        names.setdefault(org.lower(), org)
    for team in settings.dashboard_allowed_teams:
        org, slug = team.split("/")
        names.setdefault(org.lower(), org)
        teams.setdefault(org.lower(), []).append(slug)
    whole = {org.lower() for org in settings.dashboard_allowed_orgs}
    for key, org in names.items():
        yield org, key in whole, teams.get(key, [])


async def still_allowed(settings: Settings, login: str) -> Verdict:
    """The same rule as the sign-in (user, then org, then team), checked again now."""
    if login.lower() in {u.lower() for u in settings.dashboard_allowed_users}:
        return Verdict(login, True, "listed user")
    for org, whole, slugs in _orgs(settings):
        token = await _org_token(settings, org)
        if token is None:
            continue
        why = await _member_of(settings, token, org, whole, slugs, login)
        if why is not None:
            return Verdict(login, True, why)
    return Verdict(login, False, "no longer in the allowed organisations, teams or users")


async def _org_token(settings: Settings, org: str) -> str | None:
    """A token of the App's installation on `org` with members: read only; None where it cannot have one."""
    app_gh = app_github(settings)
    try:
        found = await request(app_gh, "GET", f"orgs/{quote(org)}/installation")
        installation = _field(found.raw_response, "id", int, org)
        minted = await request(app_gh, "POST", f"app/installations/{installation}/access_tokens",
                               json={"permissions": PERMISSIONS})  # fmt: skip
    except GitHubRefused as exc:  # 404: the App is not installed there; 422: it lacks members: read
        log.warning("dashboard re-check: no token for %s (%s): is the App installed there with Members: "
                    "read?", org, exc.status)  # fmt: skip
        return None
    except (GitHubUnavailable, RateLimited) as exc:
        raise RecheckFailed(f"GitHub could not be asked about {org} ({type(exc).__name__})") from None
    token: str = _field(minted.raw_response, "token", str, org)
    register_secret(token)
    return token


async def _member_of(
    settings: Settings, token: str, org: str, whole: bool, slugs: list[str], login: str
) -> str | None:
    """Why `login` is let in through `org` (the org, or one of its teams), or None."""
    api = settings.github_api_url.rstrip("/")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, headers=headers) as client:
            if whole:
                answer = await client.get(f"{api}/orgs/{quote(org)}/members/{quote(login)}")
                _transient(answer, org)
                if answer.status_code == 204:
                    return f"member of {org}"
            for slug in slugs:
                path = f"{api}/orgs/{quote(org)}/teams/{quote(slug)}/memberships/{quote(login)}"
                answer = await client.get(path)
                _transient(answer, org)
                if answer.status_code == 200 and str(_field(answer, "state", str, org)) == "active":
                    return f"member of {org}/{slug}"
    except httpx.HTTPError as exc:
        raise RecheckFailed(f"could not reach GitHub ({type(exc).__name__})") from None
    return None


def _transient(answer: httpx.Response, org: str) -> None:
    if answer.status_code >= 500 or answer.status_code == 429:
        raise RecheckFailed(f"GitHub answered {answer.status_code} about {org}")


def _field(answer: httpx.Response, name: str, kind: type, org: str) -> Any:
    """A field of GitHub's JSON answer, of its kind; an answer without it is a failure (RecheckFailed)."""
    try:
        data = answer.json()
    except ValueError:
        raise RecheckFailed(f"GitHub's answer about {org} is not JSON ({answer.status_code})") from None
    value = data.get(name) if isinstance(data, dict) else None
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str) and value:
        return value
    raise RecheckFailed(f"GitHub's answer about {org} has no `{name}` ({answer.status_code})")
