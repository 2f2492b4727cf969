"""Signing in with GitHub: the App's user authorisation, then a check against the allowed orgs, teams, users.

The user's token is used for these few reads and then dropped: it is never stored, logged or shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import httpx

from app.settings import Settings

log = logging.getLogger("steward.dashboard")

TIMEOUT_SECONDS = 10.0


class SignInFailed(Exception):
    """GitHub refused or failed the sign-in; the message is safe to show (it carries no secret)."""


@dataclass(frozen=True)
class Verdict:
    login: str
    allowed: bool
    why: str


def authorize_url(settings: Settings, redirect_uri: str, state: str) -> str:
    """Where the browser goes to authorise the App for its user; `state` binds the answer to the session."""
    query = urlencode(
        {"client_id": settings.dashboard_oauth_client_id, "redirect_uri": redirect_uri, "state": state}
    )
    return f"{settings.github_web_url.rstrip('/')}/login/oauth/authorize?{query}"


async def exchange(settings: Settings, code: str, redirect_uri: str) -> str:
    """The code GitHub sent back, traded for the user's token."""
    assert settings.dashboard_oauth_client_secret is not None
    form = {
        "client_id": settings.dashboard_oauth_client_id or "",
        "client_secret": settings.dashboard_oauth_client_secret.get_secret_value(),
        "code": code,
        "redirect_uri": redirect_uri,
    }
    url = f"{settings.github_web_url.rstrip('/')}/login/oauth/access_token"
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            response = await client.post(url, data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise SignInFailed(f"could not reach GitHub ({type(exc).__name__})") from None
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    token = body.get("access_token") if isinstance(body, dict) else None
    if response.status_code != 200 or not isinstance(token, str) or not token:
        error = body.get("error") if isinstance(body, dict) else None
        raise SignInFailed(f"GitHub did not accept the sign-in ({error or response.status_code})")
    return token


async def check(settings: Settings, token: str) -> Verdict:
    """Who the token's user is, and whether the settings let them in (user, then org, then team)."""
    api = settings.github_api_url.rstrip("/")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, headers=headers) as client:
            user = await client.get(f"{api}/user")
            if user.status_code != 200:
                raise SignInFailed(f"GitHub did not say who signed in ({user.status_code})")
            login = str(user.json().get("login") or "")
            if not login:
                raise SignInFailed("GitHub did not say who signed in")
            if login.lower() in {u.lower() for u in settings.dashboard_allowed_users}:
                return Verdict(login, True, "listed user")
            if settings.dashboard_allowed_orgs:
                orgs = await client.get(f"{api}/user/orgs", params={"per_page": 100})
                mine = (
                    {str(o.get("login", "")).lower() for o in orgs.json()}
                    if orgs.status_code == 200
                    else set()
                )
                for org in settings.dashboard_allowed_orgs:
                    if org.lower() in mine:
                        return Verdict(login, True, f"member of {org}")
            for team in settings.dashboard_allowed_teams:
                org, slug = team.split("/")
                path = f"{api}/orgs/{quote(org)}/teams/{quote(slug)}/memberships/{quote(login)}"
                membership = await client.get(path)
                if membership.status_code == 200 and membership.json().get("state") == "active":
                    return Verdict(login, True, f"member of {team}")
    except httpx.HTTPError as exc:
        raise SignInFailed(f"could not reach GitHub ({type(exc).__name__})") from None
    return Verdict(login, False, "not in the allowed organisations, teams or users")
