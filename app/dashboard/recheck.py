"""Every request of a GitHub session asks, once the interval has passed, whether its user is still allowed:
someone removed from the allowed orgs or teams is signed out at their next request after the interval."""

from __future__ import annotations

import logging
import time

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.dashboard import membership
from app.dashboard.auth import bearer
from app.dashboard.session import Session
from app.dashboard.web import dashboard, denied, session_of

log = logging.getLogger("steward.dashboard")
clock = time.time
"""Now, in epoch seconds (the sessions store when they were checked in the same unit)."""


def due(session: Session, interval_minutes: int, now: float) -> bool:
    """A GitHub session checked longer ago than the interval, or never (a cookie from before re-checks)."""
    return session.how == "github" and bool(session.user) and now - session.checked >= interval_minutes * 60


class Recheck:
    """ASGI middleware of the dashboard: re-check a due session before any page, and keep the answer in the
    cookie (written on the way out, for the answers that do not write it themselves)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        here = scope["path"].removeprefix(scope.get("root_path", ""))
        if here.startswith("/static/") or bearer(request) is not None:
            await self.app(scope, receive, send)
            return
        session = session_of(request)
        settings = dashboard(request).settings
        now = clock()
        if due(session, settings.dashboard_recheck_minutes, now):
            try:
                verdict = await membership.still_allowed(settings, session.user or "")
            except membership.RecheckFailed as exc:
                await denied(request, 503, f"could not check your GitHub access again: {exc}; try again")(
                    scope, receive, send
                )
                return
            if verdict.allowed:
                session.checked = now
            else:
                log.warning("dashboard: %s is signed out: %s", session.user, verdict.why)
                session.user, session.how = None, ""  # the next sign-in gives the session a new CSRF token
            session.changed = True
        await self.app(scope, receive, self._keeping(request, session, send))

    @staticmethod
    def _keeping(request: Request, session: Session, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and session.changed:
                header = dashboard(request).sessions.cookie_header(request, session)
                message["headers"] = [*message.get("headers", []), header]
                session.changed = False
            await send(message)

        return sending
