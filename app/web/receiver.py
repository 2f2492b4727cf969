"""POST /webhooks: verify, de-duplicate, route and enqueue, then answer; no GitHub I/O on this path."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import from_json
from starlette.requests import Request
from starlette.responses import JSONResponse

from app.events import Envelope
from app.router import Delivery, Router
from app.web.body import Rejected, read_signed_body
from app.web.queue import Queue, QueueUnavailable

log = logging.getLogger("steward.web")

MAX_DELIVERY_ID_LENGTH = 100
RETRY_AFTER_SECONDS = 30
HTTP_TOO_LARGE = 413


@dataclass
class Edge:
    """What the receiver needs, built once per app."""

    secret: bytes
    max_body_bytes: int
    router: Router
    queue: Queue


def answer(status_code: int, /, **body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


def _check_headers(event: str | None, delivery_id: str | None) -> None:
    if not event:
        raise Rejected(400, "missing X-GitHub-Event header")
    if not delivery_id:
        raise Rejected(400, "missing X-GitHub-Delivery header")
    if len(delivery_id) > MAX_DELIVERY_ID_LENGTH or not delivery_id.isprintable():
        raise Rejected(400, "X-GitHub-Delivery is not a delivery id")


def _parse(router: Router, event: str, body: bytes) -> Envelope | ValidationError:
    """The body as its event's model, parsed once (jiter skips unread fields), or why it lacks fields."""
    try:
        return router.model_for(event).model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_context=False, include_input=False)[0]
        if first["loc"]:
            return exc  # valid JSON object, but without the fields this event's model reads
        if first["type"] == "json_invalid":
            raise Rejected(400, "body is not valid JSON") from None
        raise Rejected(400, "body must be a JSON object") from None


async def receive(request: Request) -> JSONResponse:
    """Answer one delivery; a well-signed one gets a 2xx, or a 503 only when Redis is unreachable."""
    edge: Edge = request.app.state.edge
    event = request.headers.get("x-github-event")
    delivery_id = request.headers.get("x-github-delivery")
    try:
        body = await read_signed_body(request, edge.secret, edge.max_body_bytes)
        _check_headers(event, delivery_id)
        assert event is not None and delivery_id is not None
        parsed = _parse(edge.router, event, body)
    except Rejected as rejected:
        log.warning("rejected delivery=%.100r event=%.60r: %s", delivery_id, event, rejected.message)
        response = answer(rejected.status, error=rejected.message)
        if rejected.status == HTTP_TOO_LARGE:
            # Otherwise uvicorn keeps reading (and discarding) the rest of the body to reuse the connection.
            response.headers["Connection"] = "close"
        return response
    if isinstance(parsed, ValidationError):
        return _unreadable(edge.router, event, delivery_id, body, parsed)
    return await _route_and_enqueue(edge, event, delivery_id, parsed)


def _unreadable(
    router: Router, event: str, delivery_id: str, body: bytes, exc: ValidationError
) -> JSONResponse:
    """A JSON object its event's model cannot read: ignored, and logged as a gap only if it was routed."""
    try:
        payload = from_json(body)  # valid JSON: the model's parser got past the syntax
    except ValueError:
        payload = {}
    action = payload.get("action")
    action = action if isinstance(action, str) else None
    repo = payload.get("repository")
    name = repo.get("full_name") if isinstance(repo, dict) else None
    where = f"{event}.{action or '-'} delivery={delivery_id} repo={name if isinstance(name, str) else '-'}"
    if not router.handlers_for(event, action):
        log.info("ignored %s: nothing to do", where)
        return answer(202, ignored=True)
    return _lacking(where, exc)


def _lacking(where: str, exc: ValidationError) -> JSONResponse:
    fields = ", ".join(".".join(str(p) for p in err["loc"]) for err in exc.errors()[:5])
    log.warning("ignored %s: payload lacks fields Steward reads (%s)", where, fields)
    return answer(202, ignored=True, reason="payload does not have the fields Steward reads")


async def _route_and_enqueue(edge: Edge, event: str, delivery_id: str, parsed: Envelope) -> JSONResponse:
    action = parsed.action
    repo = parsed.repository.full_name if parsed.repository is not None else "-"
    where = f"{event}.{action or '-'} delivery={delivery_id} repo={repo}"
    try:
        handlers = edge.router.handlers_for(event, action)
        jobs = edge.router.dispatch(Delivery(event, delivery_id, parsed)) if handlers else []
    except ValidationError as exc:
        return _lacking(where, exc)
    except Exception:
        log.exception("ignored %s: routing failed", where)
        return answer(202, ignored=True, reason="internal error while routing; see the service log")
    if not jobs:
        log.info("ignored %s: nothing to do", where)
        return answer(202, ignored=True)
    try:
        fresh = await edge.queue.enqueue(delivery_id, jobs)
    except QueueUnavailable as exc:
        log.error("redis unreachable (%s): %s was not enqueued; GitHub should redeliver it", exc, where)
        return JSONResponse(
            {"error": "the job queue is unavailable; redeliver later"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    except Exception:
        log.exception("not enqueued %s: unexpected error", where)
        return answer(202, ignored=True, reason="internal error while enqueueing; see the service log")
    if not fresh:
        log.info("duplicate %s: already enqueued", where)
        return answer(202, duplicate=True)
    log.info("queued %s jobs=%s", where, ",".join(job.job_id for job in jobs))
    return answer(202, queued=[job.job_id for job in jobs])
