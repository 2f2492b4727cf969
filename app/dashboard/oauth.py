"""Signing in with GitHub: the App's user authorisation, then a check against the allowed orgs, teams, users.

The user's token is used for these few reads and then dropped: it is never stored, logged or shown.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from app.settings import Settings

log = logging.getLogger("steward.dashboard")

TIMEOUT_SECONDS = 10.0


class SignInFailed(Exception):
    """GitHub refused or failed the sign-in; the message is safe to show (it carries no secret). `status`:
    what the browser is answered, 502 (GitHub failed or said something unreadable) unless the user's code was
    at fault (400)."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.status = status


USER_ERRORS = {"bad_verification_code": "the code is wrong, used already or expired"}
"""GitHub's token-exchange errors that are the sign-in's own, not the server's: answered 400, sign in again.
https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"""
_ERROR_CODE = re.compile(r"[a-z_]{1,64}")
"""What an error code of GitHub looks like; anything else in the field is not repeated."""


def read_json(response: httpx.Response, what: str, kind: type = dict) -> Any:
    """The answer's JSON, of the kind expected, or SignInFailed saying GitHub's answer could not be read."""
    try:
        data = response.json()
    except ValueError:
        kind_said = response.headers.get("content-type", "no content type").split(";")[0][:60]
        raise SignInFailed(
            f"GitHub's answer {what} is not JSON ({response.status_code}, {kind_said})"
        ) from None
    if not isinstance(data, kind):
        raise SignInFailed(f"GitHub's answer {what} is not a JSON {'object' if kind is dict else 'list'}")
    return data


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
    if response.status_code >= 500:
        raise SignInFailed(f"GitHub could not exchange the code ({response.status_code}); try again")
    body = read_json(response, "to the code exchange")
    token = body.get("access_token")
    if response.status_code == 200 and isinstance(token, str) and token:
        return token
    error = body.get("error")
    named: str | None = error if isinstance(error, str) and _ERROR_CODE.fullmatch(error) else None
    if named is not None and named in USER_ERRORS:
        said = f"GitHub did not accept the sign-in code ({named}: {USER_ERRORS[named]}); sign in again"
        raise SignInFailed(said, status=400)
    raise SignInFailed(f"GitHub did not accept the sign-in ({named or response.status_code})")


async def check(settings: Settings, token: str) -> Verdict:
    """Who the token's user is, and whether the settings let them in (user, then org, then team)."""
    api = settings.github_api_url.rstrip("/")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, headers=headers) as client:
            user = await client.get(f"{api}/user")
            if user.status_code != 200:
                raise SignInFailed(f"GitHub did not say who signed in ({user.status_code})")
            login = read_json(user, "about who signed in").get("login")
            if not isinstance(login, str) or not login:
                raise SignInFailed("GitHub did not say who signed in")
            if login.lower() in {u.lower() for u in settings.dashboard_allowed_users}:
                return Verdict(login, True, "listed user")
            if settings.dashboard_allowed_orgs:
                orgs = await client.get(f"{api}/user/orgs", params={"per_page": 100})
                _unavailable(orgs, "the organisations")
                listed = read_json(orgs, "about the organisations", list) if orgs.status_code == 200 else []
                mine = {str(o.get("login", "")).lower() for o in listed if isinstance(o, dict)}
                for org in settings.dashboard_allowed_orgs:
                    if org.lower() in mine:
                        return Verdict(login, True, f"member of {org}")
            for team in settings.dashboard_allowed_teams:
                org, slug = team.split("/")
                path = f"{api}/orgs/{quote(org)}/teams/{quote(slug)}/memberships/{quote(login)}"
                membership = await client.get(path)
                _unavailable(membership, team)
                answered = read_json(membership, f"about {team}") if membership.status_code == 200 else {}
                if answered.get("state") == "active":
                    return Verdict(login, True, f"member of {team}")
    except httpx.HTTPError as exc:
        raise SignInFailed(f"could not reach GitHub ({type(exc).__name__})") from None
    return Verdict(login, False, "not in the allowed organisations, teams or users")


def _unavailable(answer: httpx.Response, about: str) -> None:
    """GitHub failing to answer is not the user's absence from an org or team: the sign-in fails (502)."""
    if answer.status_code >= 500 or answer.status_code == 429:
        raise SignInFailed(f"GitHub could not say about {about} ({answer.status_code}); try again")
