"""Signing in and out: the operator token's form, and GitHub's user authorisation."""

from __future__ import annotations

import hmac
import logging
import secrets
import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.dashboard import oauth
from app.dashboard.auth import PREFIX, TOKEN_OPERATOR, safe_next, token_matches
from app.dashboard.web import dashboard, denied, finish, page, session_of

log = logging.getLogger("steward.dashboard")


def _base_url(request: Request) -> str:
    """This server's address as the browser sees it (through a trusted proxy, as it says)."""
    settings = dashboard(request).settings
    scheme = "https" if dashboard(request).sessions.over_tls(request) else request.url.scheme
    host = request.headers.get("host", request.url.netloc)
    if settings.dashboard_trust_proxy and "x-forwarded-host" in request.headers:
        host = request.headers["x-forwarded-host"].split(",")[0].strip()
    return f"{scheme}://{host}"


def _callback(request: Request) -> str:
    return f"{_base_url(request)}{PREFIX}/oauth/callback"


async def login_form(request: Request) -> Response:
    settings = dashboard(request).settings
    return page(
        request, "login.html", next=safe_next(request.query_params.get("next")),
        token=settings.dashboard_token is not None, github=settings.dashboard_oauth_client_id is not None,
        error="",
    )  # fmt: skip


async def login(request: Request) -> Response:
    form = await request.form()
    session = session_of(request)
    target = safe_next(str(form.get("next") or ""))
    if not session.csrf_ok(str(form.get("csrf") or "")):
        return denied(request, 403, "the form's CSRF token is missing or wrong; reload the sign-in page")
    settings = dashboard(request).settings
    if not token_matches(settings, str(form.get("token") or "")):
        log.warning("dashboard: a sign-in with a wrong operator token from %s", request.client)
        return page(
            request, "login.html", status=401, next=target, token=settings.dashboard_token is not None,
            github=settings.dashboard_oauth_client_id is not None, error="That token is not the operator's.",
        )  # fmt: skip
    session.user, session.how = TOKEN_OPERATOR, "token"
    session.csrf, session.changed = secrets.token_urlsafe(32), True  # a new session: a new CSRF token
    return finish(request, RedirectResponse(target, status_code=303))


async def logout(request: Request) -> Response:
    form = await request.form()
    if not session_of(request).csrf_ok(str(form.get("csrf") or "")):
        return denied(request, 403, "the form's CSRF token is missing or wrong")
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    dashboard(request).sessions.clear(response)
    return response


async def github_start(request: Request) -> Response:
    settings = dashboard(request).settings
    if settings.dashboard_oauth_client_id is None:
        return denied(request, 404, "GitHub sign-in is not configured")
    session = session_of(request)
    session.state, session.changed = secrets.token_urlsafe(32), True
    session.next = safe_next(request.query_params.get("next"))
    url = oauth.authorize_url(settings, _callback(request), session.state)
    return finish(request, RedirectResponse(url, status_code=303))


async def github_callback(request: Request) -> Response:
    settings = dashboard(request).settings
    session = session_of(request)
    expected, given = session.state, request.query_params.get("state", "")
    session.state, session.changed = None, True  # a state is good for one answer
    if settings.dashboard_oauth_client_id is None:
        return denied(request, 404, "GitHub sign-in is not configured")
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        return finish(request, denied(request, 403, "this sign-in was not started here; sign in again"))
    code = request.query_params.get("code", "")
    if not code:
        return finish(request, denied(request, 400, "GitHub sent no code back; sign in again"))
    try:
        token = await oauth.exchange(settings, code, _callback(request))
        verdict = await oauth.check(settings, token)
    except oauth.SignInFailed as exc:
        return finish(request, denied(request, exc.status, f"sign-in failed: {exc}"))
    if not verdict.allowed:
        log.warning("dashboard: GitHub user %s was refused: %s", verdict.login, verdict.why)
        return finish(
            request, denied(request, 403, f"{verdict.login} may not use this dashboard ({verdict.why})")
        )
    log.info("dashboard: %s signed in with GitHub (%s)", verdict.login, verdict.why)
    session.user, session.how = verdict.login, "github"
    session.checked = time.time()  # allowed now; app/dashboard/recheck.py asks again after the interval
    session.csrf = secrets.token_urlsafe(32)
    target, session.next = safe_next(session.next), ""
    return finish(request, RedirectResponse(target, status_code=303))
