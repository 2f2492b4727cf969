"""The web process: the webhook receiver, liveness and readiness probes, and Prometheus metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from app import __version__
from app.handlers import build_router
from app.observability import tracing
from app.settings import Settings, load_settings
from app.web.body import BodyBudget
from app.web.queue import Queue
from app.web.receiver import Edge, Receiver, answer

WEBHOOK_PATH = "/webhooks"


class WebhookEdge:
    """The ASGI app `steward serve` runs: POST /webhooks goes straight to the receiver, ahead of FastAPI's
    middleware stack and router, which a delivery needs none of (bench/webhooks.py measured them at about a
    tenth of a delivery's cost); everything else, lifespan included, goes to the FastAPI app `api`."""

    def __init__(self, api: FastAPI) -> None:
        self.api = api
        self.receiver = Receiver()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == WEBHOOK_PATH:
            scope["app"] = self.api  # the receiver finds its Edge in the app's state, as under FastAPI
            await self.receiver(scope, receive, send)
            return
        await self.api(scope, receive, send)


def create_app(settings: Settings | None = None) -> WebhookEdge:
    """Build the app; it starts even while Redis is down and serves once Redis is back."""
    settings = (settings or load_settings()).require("webhook_secret")
    assert settings.webhook_secret is not None
    secret = settings.webhook_secret.get_secret_value().encode()

    board = None
    if settings.dashboard_enabled:
        from app.dashboard import build

        dashboard_app, board = build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        traced = tracing.configure(settings, "steward-web")
        queue = Queue(settings.redis_url)
        await queue.connect()
        budget = BodyBudget(settings.max_bodies_in_flight_bytes)
        app.state.edge = Edge(secret, settings.max_body_bytes, build_router(settings), queue, budget)
        try:
            yield
        finally:
            await queue.close()
            if board is not None:
                await board.close()
            if traced:
                tracing.uninstall()

    app = FastAPI(title="Steward", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    # Also a route, so other methods get 405 and "/webhooks/" its redirect; WebhookEdge serves POSTs first.
    app.router.routes.append(Route(WEBHOOK_PATH, Receiver(), methods=["POST"], include_in_schema=False))

    if board is not None:  # nothing answers under /dashboard unless it is configured
        from app.dashboard import PREFIX, Root

        app.router.routes.append(Route(PREFIX, Root(dashboard_app), include_in_schema=False))
        app.mount(PREFIX, dashboard_app)
    if settings.metrics:
        from app.observability.endpoint import METRICS_PATH, metrics

        app.router.routes.append(Route(METRICS_PATH, metrics, methods=["GET"], include_in_schema=False))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return answer(200, status="ok")

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        edge: Edge = app.state.edge
        if await edge.queue.ping():
            return answer(200, status="ready", redis="ok")
        return answer(503, status="not ready", redis="unreachable")

    return WebhookEdge(app)
