"""The operators' dashboard under /dashboard: runs, one run's story, health, duplicates; cancel and retry.

`steward serve` mounts it only when a dashboard token or GitHub sign-in is configured
(Settings.dashboard_enabled).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.types import ASGIApp, Receive, Scope, Send

    from app.dashboard.state import Dashboard
    from app.settings import Settings


def build(settings: Settings) -> tuple[Starlette, Dashboard]:
    """The dashboard's ASGI app (to mount at /dashboard) and its state (to close at shutdown)."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from app.dashboard import pages, signin
    from app.dashboard.recheck import Recheck
    from app.dashboard.state import HERE, Dashboard
    from app.dashboard.web import Headers

    board = Dashboard(settings)
    routes = [
        Route("/", pages.runs),
        Route("/runs", pages.runs),
        Route("/runs/{run_id}", pages.run),
        Route("/runs/{run_id}/{action:str}", pages.act, methods=["POST"]),
        Route("/health", pages.health_page),
        Route("/duplicates", pages.duplicates),
        Route("/login", signin.login_form),
        Route("/login", signin.login, methods=["POST"]),
        Route("/logout", signin.logout, methods=["POST"]),
        Route("/oauth/start", signin.github_start),
        Route("/oauth/callback", signin.github_callback),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [Middleware(Headers, github_url=settings.github_web_url.rstrip("/")), Middleware(Recheck)]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.dashboard = board
    return app, board


PREFIX = "/dashboard"


class Root:
    """`/dashboard` itself (no slash) answers as `/dashboard/`: 401 or the sign-in, never a redirect first."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        inner = {**scope, "path": PREFIX + "/", "root_path": scope.get("root_path", "") + PREFIX}
        await self.app(inner, receive, send)
