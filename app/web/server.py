"""How `steward serve` runs uvicorn: h11 with read deadlines, so a slow client cannot hold a connection open.

uvicorn's h11 protocol has a keep-alive timeout between requests, but none while a request's headers or body
arrive: a client that sends a byte now and then (slowloris) keeps its connection, and its buffers, for ever.
`DeadlineH11Protocol` adds two deadlines, checked against h11's view of the client's side of the connection:
the headers must arrive within `header_seconds` of the connection opening (or of a later request's first
byte), and the whole body within `body_seconds` of the headers. Past either, the client gets 408 and the
connection closes.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any, ClassVar

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.settings import Settings

log = logging.getLogger("steward.web")

_TIMEOUT_BODY = b"request not received in time\n"
REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY
)
"""Written as raw bytes: h11 cannot answer a request whose headers it has not seen."""
_WATCHED = {h11.IDLE: "headers", h11.SEND_BODY: "body"}
"""The client states that have a deadline: waiting for a request's headers, and for its body."""


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for a request's headers and one for its body."""

    header_seconds: ClassVar[float] = 10.0
    body_seconds: ClassVar[float] = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch(started=True)  # uvicorn has no timeout for a new connection's first request

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch(started=True)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch(started=False)  # idle between requests: uvicorn's keep-alive timeout applies

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def _watch(self, started: bool) -> None:
        """Arm the deadline of the phase the client is in, when that phase has just begun.

        The headers' deadline starts with the connection, or with the first byte of a later request.
        """
        phase = _WATCHED.get(self.conn.their_state)
        if phase == "headers" and not started:
            phase = None
        if phase == self._phase:
            return
        self._cancel()
        self._phase = phase
        if phase is not None:
            seconds = self.header_seconds if phase == "headers" else self.body_seconds
            self._deadline = self.loop.call_later(seconds, self._expired, phase, seconds)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, phase: str, seconds: float) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "?"
        log.warning(
            "closed the connection from %s: request %s not received within %g s", client, phase, seconds
        )
        cycle = self.cycle if phase == "body" else None
        if cycle is None or not cycle.response_started:
            self.transport.write(REQUEST_TIMEOUT)
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = (
                True  # the app's receive() now returns http.disconnect, and its send() nothing
            )
            cycle.message_event.set()
        self.transport.close()


def deadline_protocol(header_seconds: float, body_seconds: float) -> type[DeadlineH11Protocol]:
    """The protocol class uvicorn instantiates per connection, with these deadlines."""
    attrs = {"header_seconds": header_seconds, "body_seconds": body_seconds}
    return type("DeadlineH11Protocol", (DeadlineH11Protocol,), attrs)


def uvicorn_config(app: ASGIApp, settings: Settings, host: str, port: int, **options: Any) -> uvicorn.Config:
    """The server `steward serve` runs (tests serve through it too)."""
    protocol = deadline_protocol(settings.header_timeout_seconds, settings.body_timeout_seconds)
    return uvicorn.Config(app, host=host, port=port, http=protocol, **options)


def settle_heap() -> None:
    """Just before serving: what startup built lives as long as the process, so move it out of the cyclic
    collector's sight (`gc.freeze`); a full collection then no longer walks the whole app between deliveries.
    bench/webhooks.py: about 7% less CPU per delivery, and as much for every other route."""
    gc.collect()
    gc.freeze()
