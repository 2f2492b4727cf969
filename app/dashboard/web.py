"""Answering a dashboard request: the page, the session cookie and the headers every answer carries."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.dashboard.auth import Operator, identify, refuse
from app.dashboard.session import Session
from app.dashboard.state import Dashboard

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self' {github}; frame-ancestors 'none'; base-uri 'none'"
)
"""No inline script or style anywhere: text from outside cannot run even if it escaped its escaping."""


def dashboard(request: Request) -> Dashboard:
    found: Dashboard = request.app.state.dashboard
    return found


def session_of(request: Request) -> Session:
    if "session" not in request.scope:
        request.scope["session"] = dashboard(request).sessions.read(request)
    found: Session = request.scope["session"]
    return found


def operator(request: Request) -> Operator | None:
    return identify(request, dashboard(request).settings, session_of(request))


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A template rendered with who is signed in and the CSRF token every form carries."""
    session = session_of(request)
    who = operator(request)
    html = (
        dashboard(request)
        .env.get_template(template)
        .render(who=who, csrf=session.csrf, path=request.url.path, **values)
    )
    response = HTMLResponse(html, status_code=status)
    finish(request, response)
    return response


def finish(request: Request, response: Response) -> Response:
    """Write the session back when it changed (a new CSRF token, a sign-in, the GitHub state)."""
    session = session_of(request)
    if session.changed:
        dashboard(request).sessions.write(request, response, session)
        session.changed = False
    return response


def denied(request: Request, status: int, message: str) -> Response:
    if "text/html" in request.headers.get("accept", ""):
        return page(request, "error.html", status=status, message=message)
    return JSONResponse({"error": message}, status_code=status)


def csrf_ok(request: Request, who: Operator, form: Any) -> bool:
    """A cookie session's action must carry its CSRF token; a bearer token is not ambient, so needs none."""
    if who.bearer:
        return True
    given = form.get("csrf") if form is not None else None
    return session_of(request).csrf_ok(given or request.headers.get("x-csrf-token"))


def signed_in(request: Request) -> Operator | Response:
    who = operator(request)
    return who if who is not None else refuse(request)


class Headers:
    """Every dashboard answer: the Content-Security-Policy, no framing, no caching, no referrer."""

    def __init__(self, app: ASGIApp, github_url: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", CSP.format(github=github_url).encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"cache-control", b"no-store"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, with_headers)
