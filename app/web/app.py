"""The web process: the webhook receiver plus liveness and readiness probes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.responses import JSONResponse
from starlette.routing import Route

from app import __version__
from app.handlers import build_router
from app.settings import Settings, load_settings
from app.web.queue import Queue
from app.web.receiver import Edge, Receiver, answer

WEBHOOK_PATH = "/webhooks"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; it starts even while Redis is down and serves once Redis is back."""
    settings = (settings or load_settings()).require("webhook_secret")
    assert settings.webhook_secret is not None
    secret = settings.webhook_secret.get_secret_value().encode()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        queue = Queue(settings.redis_url)
        await queue.connect()
        app.state.edge = Edge(secret, settings.max_body_bytes, build_router(settings), queue)
        try:
            yield
        finally:
            await queue.close()

    app = FastAPI(title="Steward", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    # A bare ASGI route: the receiver reads the raw request itself and needs none of FastAPI's parsing.
    app.router.routes.append(Route(WEBHOOK_PATH, Receiver(), methods=["POST"], include_in_schema=False))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return answer(200, status="ok")

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        edge: Edge = app.state.edge
        if await edge.queue.ping():
            return answer(200, status="ready", redis="ok")
        return answer(503, status="not ready", redis="unreachable")

    return app
