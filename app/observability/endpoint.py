"""GET /metrics on `steward serve`: this process's metrics, with the queue depth read from Redis first."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.observability.metrics import CONTENT_TYPE, QUEUE_DEPTH, render

METRICS_PATH = "/metrics"


async def metrics(request: Request) -> Response:
    """Prometheus's text format; a Redis that does not answer leaves the last queue depth in place."""
    edge = getattr(request.app.state, "edge", None)
    if edge is not None:
        depth = await edge.queue.depth()
        if depth is not None:
            QUEUE_DEPTH.set(depth)
    return Response(render(), media_type=CONTENT_TYPE)
