"""POST /webhooks: verify, de-duplicate, route and enqueue, then answer; no GitHub I/O on this path.

A bare ASGI endpoint: it reads the raw headers and body itself and sends pre-encoded answers, since
Starlette's Request and Response objects cost a busy receiver more than they give it (bench/webhooks.py).

Answers. A refused delivery (4xx) or one that cannot be enqueued now (503) gets a JSON body `{"error": ...}`.
An accepted one gets 202 with no body (one write instead of two) and says what happened in headers, which
GitHub's "Recent Deliveries" page shows: `X-Steward-Outcome` (`queued`, `duplicate` or `ignored`), then
`X-Steward-Jobs` (the job ids queued) or `X-Steward-Reason` (why it was ignored: every ignored answer says).

Logs. At INFO the receiver logs what it refuses, ignores, finds duplicated or cannot enqueue; a queued
delivery is logged at DEBUG here, and at INFO by the worker when its job runs (`delivery=...`).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from prometheus_client import Counter
from pydantic import BaseModel, ValidationError
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from app.events import Envelope
from app.observability import tracing
from app.observability.metrics import DELIVERIES, DELIVERY_SECONDS, OTHER
from app.router import Delivery, Router
from app.web.body import BodyBudget, Disconnected, Held, Rejected, read_signed_body
from app.web.queue import Queue, QueueUnavailable

log = logging.getLogger("steward.web")

MAX_DELIVERY_ID_LENGTH = 100
DELIVERY_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:-]{{0,{MAX_DELIVERY_ID_LENGTH - 1}}}")
"""GitHub sends a UUID. The header is not covered by the signature, and the id ends up in Redis keys, job ids,
log lines and the X-Steward-Jobs answer header, so anything else (spaces, quotes, non-ASCII) is refused."""
MAX_NAME_CHARS = 80
"""Characters of an event or action name repeated in an answer header."""
RETRY_AFTER_SECONDS = 30
HTTP_TOO_LARGE = 413
HTTP_UNAVAILABLE = 503
WHERE = "%s.%s delivery=%s repo=%s"
"""How a delivery is named in the log: event.action, delivery id and repository."""


@dataclass
class Edge:
    """What the receiver needs, built once per app."""

    secret: bytes
    max_body_bytes: int
    router: Router
    queue: Queue
    budget: BodyBudget


def answer(status_code: int, /, **body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


def _encode(**body: Any) -> bytes:
    """JSON exactly as Starlette's JSONResponse renders it."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


Headers = list[tuple[bytes, bytes]]
OUTCOME = b"x-steward-outcome"
IGNORED: Headers = [(OUTCOME, b"ignored")]
DUPLICATE: Headers = [(OUTCOME, b"duplicate")]


def _ignored(reason: str) -> Headers:
    return [*IGNORED, (b"x-steward-reason", reason.encode())]


LACKING = _ignored("payload does not have the fields Steward reads")
ROUTING_FAILED = _ignored("internal error while routing; see the service log")
ENQUEUE_FAILED = _ignored("internal error while enqueueing; see the service log")
UNAVAILABLE = _encode(error="the job queue is unavailable; redeliver later")
UNAVAILABLE_HEADERS: Headers = [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())]
CLOSE_HEADERS: Headers = [(b"connection", b"close")]
_EMPTY_LENGTH = (b"content-length", b"0")
_UNSAFE = re.compile(r"[^\x21-\x7e]")
"""Job ids come from numbers, the checked delivery id and payload fields (a head sha): in a header value,
anything but visible ASCII becomes "?", so no payload can make the answer itself fail."""


async def _send(send: Send, status: int, body: bytes, headers: Headers | None = None) -> None:
    """An error answer: a JSON body."""
    raw = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": raw + (headers or [])})
    await send({"type": "http.response.body", "body": body})


async def _accept(send: Send, headers: Headers) -> None:
    """202 with no body: what happened is in the X-Steward-* headers."""
    await send({"type": "http.response.start", "status": 202, "headers": [_EMPTY_LENGTH, *headers]})
    await send({"type": "http.response.body", "body": b""})


def _check_headers(event: str | None, delivery_id: str | None) -> None:
    if not event:
        raise Rejected(400, "missing X-GitHub-Event header")
    if not delivery_id:
        raise Rejected(400, "missing X-GitHub-Delivery header")
    if DELIVERY_ID.fullmatch(delivery_id) is None:
        raise Rejected(400, "X-GitHub-Delivery is not a delivery id")


def _parse(router: Router, event: str, body: bytearray) -> Envelope | ValidationError:
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


class Receiver:
    """The POST /webhooks ASGI app (a class, so Starlette mounts it as ASGI, with no Request or Response)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one delivery; a well-signed one gets a 2xx, or a 503 only when Redis is unreachable."""
        await _receive(scope, receive, send)


async def _receive(scope: Scope, receive: Receive, send: Send) -> None:
    edge: Edge = scope["app"].state.edge
    started = perf_counter()
    headers: dict[bytes, bytes] = dict(reversed(scope["headers"]))  # the first of repeated headers wins
    raw_event, raw_id = headers.get(b"x-github-event"), headers.get(b"x-github-delivery")
    event = raw_event.decode("latin-1") if raw_event is not None else None
    delivery_id = raw_id.decode("latin-1") if raw_id is not None else None
    label = event_label(edge.router, event)
    outcome = "error"
    try:
        if tracing.enabled():
            outcome = await _traced(edge, receive, send, headers, label, event, delivery_id)
        else:  # no span to open, name or fill in: a delivery pays for tracing only when it is on
            with edge.budget.hold() as held:  # the body's bytes count against the budget until answered
                outcome = await _handle(edge, receive, send, held, headers, event, delivery_id)
    finally:
        _counted(label, outcome).inc()
        DELIVERY_SECONDS.observe(perf_counter() - started)


async def _traced(
    edge: Edge,
    receive: Receive,
    send: Send,
    headers: dict[bytes, bytes],
    label: str,
    event: str | None,
    delivery_id: str | None,
) -> str:
    """`_handle` inside the delivery's span, the root of its trace (its jobs carry the trace context)."""
    with tracing.span(f"webhook {label}", kind="server") as current:
        with edge.budget.hold() as held:
            outcome = await _handle(edge, receive, send, held, headers, event, delivery_id)
        said = {"steward.outcome": outcome, "github.event": label}
        if outcome not in ("rejected", "disconnected") and delivery_id is not None:
            said["github.delivery"] = delivery_id  # checked against DELIVERY_ID by then
        tracing.set_attributes(current, said)
    return outcome


_COUNTERS: dict[tuple[str, str], Counter] = {}
"""DELIVERIES' child per (event label, outcome), looked up once each: `labels()` checks and locks on every
call. Bounded: the labels are the router's events and `other`, the outcomes a handful of constants."""


def _counted(label: str, outcome: str) -> Counter:
    counter = _COUNTERS.get((label, outcome))
    if counter is None:
        counter = _COUNTERS[label, outcome] = DELIVERIES.labels(label, outcome)
    return counter


def event_label(router: Router, event: str | None) -> str:
    """The event as a metric label: one the router knows, else `other` (the header is not signed)."""
    return event if event is not None and router.knows(event) else OTHER


async def _handle(
    edge: Edge,
    receive: Receive,
    send: Send,
    held: Held,
    headers: dict[bytes, bytes],
    event: str | None,
    delivery_id: str | None,
) -> str:
    """Answer the delivery; returns its outcome (the X-Steward-Outcome, or why there was none)."""
    try:
        body = await read_signed_body(receive, headers, edge.secret, edge.max_body_bytes, held)
        _check_headers(event, delivery_id)
        assert event is not None and delivery_id is not None
        parsed = _parse(edge.router, event, body)
    except Disconnected:
        log.info("client went away before delivery=%.100r event=%.60r arrived", delivery_id, event)
        return "disconnected"
    except Rejected as rejected:
        log.warning("rejected delivery=%.100r event=%.60r: %s", delivery_id, event, rejected.message)
        await _send(send, rejected.status, _encode(error=rejected.message), _refusal_headers(rejected.status))
        return "unavailable" if rejected.status == HTTP_UNAVAILABLE else "rejected"
    if isinstance(parsed, ValidationError):
        await _accept(send, _unreadable(edge.router, event, delivery_id, body, parsed))
        return "ignored"
    return await _route_and_enqueue(edge, send, event, delivery_id, parsed)


class _Where(BaseModel):
    """The fields a log line names a delivery by, read from a body its event's model could not read."""

    action: object = None
    repository: object = None


def _refusal_headers(status: int) -> Headers | None:
    """A too-large body closes the connection, or uvicorn would read (and discard) the rest of it.

    One refused for the budget does not: closing while the client still sends would reset the connection and
    lose the 503, while uvicorn discards what follows without holding it (and the body deadline bounds it).
    """
    if status == HTTP_TOO_LARGE:
        return CLOSE_HEADERS
    if status == HTTP_UNAVAILABLE:
        return UNAVAILABLE_HEADERS
    return None


def _unreadable(
    router: Router, event: str, delivery_id: str, body: bytearray, exc: ValidationError
) -> Headers:
    """A JSON object its event's model cannot read: ignored, and logged as a gap only if it was routed."""
    try:  # valid JSON, since the model's parser got past the syntax; only these two fields are built
        payload = _Where.model_validate_json(body)
    except ValidationError:
        payload = _Where()
    action = payload.action if isinstance(payload.action, str) else None
    repo = payload.repository
    name = repo.get("full_name") if isinstance(repo, dict) else None
    where = (event, action or "-", delivery_id, name if isinstance(name, str) else "-")
    if not router.handlers_for(event, action):
        log.info("ignored " + WHERE + ": nothing to do", *where)
        return _ignored(_not_acted_on(event, action))
    return _lacking(where, exc)


def _not_acted_on(event: str, action: str | None) -> str:
    """The reason for an event no handler is registered for; the names are cut and made header-safe."""
    name = event if action is None else f"{event}.{action}"
    return f"Steward does not act on {_UNSAFE.sub('?', name[:MAX_NAME_CHARS])}"


def _passed_by(router: Router, delivery: Delivery[Any]) -> str:
    """Why no job came of a routed delivery: its handlers' reasons, or that none is registered."""
    if delivery.reasons:
        return "; ".join(dict.fromkeys(delivery.reasons))
    if not router.handlers_for(delivery.event, delivery.payload.action):
        return _not_acted_on(delivery.event, delivery.payload.action)
    return "no handler asked for a job"


def _lacking(where: tuple[str, ...], exc: ValidationError) -> Headers:
    fields = ", ".join(".".join(str(p) for p in err["loc"]) for err in exc.errors()[:5])
    log.warning("ignored " + WHERE + ": payload lacks fields Steward reads (%s)", *where, fields)
    return LACKING


async def _route_and_enqueue(edge: Edge, send: Send, event: str, delivery_id: str, parsed: Envelope) -> str:
    action = parsed.action
    where = (event, action or "-", delivery_id, parsed.repository.full_name if parsed.repository else "-")
    delivery = Delivery(event, delivery_id, parsed)
    try:
        jobs = edge.router.dispatch(delivery)
    except ValidationError as exc:
        await _accept(send, _lacking(where, exc))
        return "ignored"
    except Exception:
        log.exception("ignored " + WHERE + ": routing failed", *where)
        await _accept(send, ROUTING_FAILED)
        return "error"
    if not jobs:
        reason = _passed_by(edge.router, delivery)
        log.info("ignored " + WHERE + ": %s", *where, reason)
        await _accept(send, _ignored(reason))
        return "ignored"
    try:
        fresh = await edge.queue.enqueue(delivery_id, jobs, tracing.job_kwargs())
    except QueueUnavailable as exc:
        log.error(
            "redis unreachable (%s): " + WHERE + " was not enqueued; GitHub should redeliver it", exc, *where
        )
        await _send(send, 503, UNAVAILABLE, UNAVAILABLE_HEADERS)
        return "unavailable"
    except Exception:
        log.exception("not enqueued " + WHERE + ": unexpected error", *where)
        await _accept(send, ENQUEUE_FAILED)
        return "error"
    if not fresh:
        log.info("duplicate " + WHERE + ": already enqueued", *where)
        await _accept(send, DUPLICATE)
        return "duplicate"
    ids = ",".join(job.job_id for job in jobs)
    await _accept(send, [(OUTCOME, b"queued"), (b"x-steward-jobs", _UNSAFE.sub("?", ids).encode())])
    # DEBUG: a line per queued delivery cost a busy receiver about a tenth of its throughput
    # (bench/webhooks.py); the worker logs each job with its delivery id when it runs.
    log.debug("queued " + WHERE + " jobs=%s", *where, ids)
    return "queued"
