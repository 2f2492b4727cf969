"""The dashboard's signed session cookie: who signed in, the CSRF token, the GitHub sign-in's state."""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from app.settings import Settings

log = logging.getLogger("steward.dashboard")

COOKIE = "steward_dashboard"
SESSION_SECONDS = 12 * 3600
"""A session lasts a working day; then the operator signs in again."""
_SALT = "steward-dashboard-session"


@dataclass
class Session:
    """What the cookie holds. `user` is None until someone signs in."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    user: str | None = None
    how: str = ""
    """`token` or `github`."""
    state: str | None = None
    """The GitHub sign-in's `state`, bound to this browser until the callback."""
    next: str = ""
    checked: float = 0.0
    """When a GitHub session's user was last found allowed (epoch seconds; app/dashboard/recheck.py)."""
    changed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "c": self.csrf,
            "u": self.user,
            "h": self.how,
            "s": self.state,
            "n": self.next,
            "t": self.checked,
        }

    def csrf_ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(self.csrf.encode(), str(given).encode())


class Sessions:
    """Signs and reads the session cookie; sets it HttpOnly, SameSite=Lax and (behind TLS) Secure."""

    def __init__(self, settings: Settings) -> None:
        if settings.dashboard_session_secret is not None:
            secret = settings.dashboard_session_secret.get_secret_value()
        else:
            secret = secrets.token_urlsafe(48)
            log.warning(
                "STEWARD_DASHBOARD_SESSION_SECRET is not set: dashboard sessions are signed with a key made "
                "for this process, so they end when it restarts and other replicas do not accept them"
            )
        self._signer = URLSafeTimedSerializer(secret, salt=_SALT)
        self._secure = settings.dashboard_secure_cookies
        self._trust_proxy = settings.dashboard_trust_proxy

    def read(self, request: Request) -> Session:
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data = self._signer.loads(raw, max_age=SESSION_SECONDS)
            except BadSignature:
                data = None
            if isinstance(data, dict) and isinstance(data.get("c"), str):
                checked = data.get("t")
                return Session(
                    csrf=data["c"], user=data.get("u"), how=str(data.get("h") or ""),
                    state=data.get("s"), next=str(data.get("n") or ""),
                    checked=float(checked) if isinstance(checked, int | float) else 0.0,
                )  # fmt: skip
        return Session(changed=True)

    def over_tls(self, request: Request) -> bool:
        if self._secure != "auto":
            return self._secure == "always"
        if self._trust_proxy and "x-forwarded-proto" in request.headers:
            return request.headers["x-forwarded-proto"].split(",")[0].strip().lower() == "https"
        return request.url.scheme == "https"

    def cookie_header(self, request: Request, session: Session) -> tuple[bytes, bytes]:
        """The Set-Cookie header `write` would add, for answers made without a Response object at hand."""
        carrier = Response()
        self.write(request, carrier, session)
        (found,) = [(k, v) for k, v in carrier.raw_headers if k == b"set-cookie"]
        return found

    def sign(self, session: Session) -> str:
        """The cookie's value for a session."""
        return str(self._signer.dumps(session.to_dict()))

    def write(self, request: Request, response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE, self.sign(session), max_age=SESSION_SECONDS, path="/dashboard",
            httponly=True, secure=self.over_tls(request), samesite="lax",
        )  # fmt: skip

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/dashboard", httponly=True, samesite="lax")
