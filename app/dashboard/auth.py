"""Who is asking: a signed-in session, or a script's bearer token; refusals for everyone else."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from app.dashboard.session import Session, Sessions
from app.settings import Settings

PREFIX = "/dashboard"
TOKEN_OPERATOR = "token operator"  # noqa: S105 (a name, not a secret)
"""How the ledger names whoever acted with STEWARD_DASHBOARD_TOKEN."""


@dataclass(frozen=True)
class Operator:
    """Someone allowed in: a GitHub login, or the token operator. `bearer`: came without a cookie."""

    name: str
    bearer: bool = False

    @property
    def actor(self) -> str:
        """The name the ledger records for this operator's actions."""
        return self.name if self.name == TOKEN_OPERATOR else f"{self.name} (dashboard)"


class NotSignedIn(Exception):
    """Raised by `require`; answered 401 for scripts, a redirect to the sign-in for browsers."""


def token_matches(settings: Settings, given: str | None) -> bool:
    """Constant-time comparison with STEWARD_DASHBOARD_TOKEN (False when none is set)."""
    if settings.dashboard_token is None or not given:
        return False
    return hmac.compare_digest(settings.dashboard_token.get_secret_value().encode(), given.encode())


def bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def identify(request: Request, settings: Settings, session: Session) -> Operator | None:
    """The bearer token first (scripts), then the session cookie (browsers)."""
    given = bearer(request)
    if given is not None:
        return Operator(TOKEN_OPERATOR, bearer=True) if token_matches(settings, given) else None
    if session.user:
        return Operator(session.user)
    return None


def wants_html(request: Request) -> bool:
    """A browser: it asks for HTML, or it is htmx asking for a piece of a page."""
    return "text/html" in request.headers.get("accept", "") or request.headers.get("hx-request") == "true"


def safe_next(value: str | None) -> str:
    """A path inside the dashboard to go back to after signing in; anything else becomes the dashboard."""
    if not value or "\\" in value or any(ord(c) < 0x20 for c in value):
        return PREFIX
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//"):
        return PREFIX
    if parts.path != PREFIX and not parts.path.startswith(PREFIX + "/"):
        return PREFIX
    if ".." in parts.path.split("/"):
        return PREFIX
    return value


def refuse(request: Request) -> Response:
    """Not signed in: scripts get 401, browsers the sign-in page with the way back."""
    if wants_html(request):
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{PREFIX}/login?next={quote(safe_next(here), safe='')}", status_code=303)
    return JSONResponse(
        {"error": "not signed in: send Authorization: Bearer <STEWARD_DASHBOARD_TOKEN>, or sign in"},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="steward-dashboard"'},
    )


__all__ = ["Operator", "Sessions", "identify", "refuse", "safe_next", "token_matches"]
