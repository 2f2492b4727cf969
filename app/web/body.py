"""Read a webhook body within its size cap and the receiver's memory budget, and check its signature.

Two bounds: `max_bytes` per body (GitHub caps payloads at 25 MB), and a `BodyBudget` of bytes held at
once across all requests, so a burst of large deliveries cannot take the process's memory (each body costs
a few times its size while it is parsed and routed). A delivery that does not fit the budget now gets 503
with Retry-After before its body is read.
"""

from __future__ import annotations

import hashlib
import hmac
from types import TracebackType

from starlette.types import Receive

SIGNATURE_PREFIX = "sha256="
_PREFIX = SIGNATURE_PREFIX.encode()


class Rejected(Exception):
    """A delivery refused at the edge, with the HTTP status and message it is answered with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class OverBudget(Rejected):
    """The body fits its own cap, but not the bytes the receiver may hold at once: try again later."""

    def __init__(self) -> None:
        super().__init__(503, "the receiver holds too many large deliveries at once; redeliver later")


class BodyBudget:
    """Bytes of bodies held at once across requests; each request holds its share until it is answered."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def hold(self) -> Held:
        """A request's share (`with budget.hold() as held:`), given back when it ends, however it ends."""
        return Held(self)


class Held:
    """One request's share of a BodyBudget; a plain context manager, since a generator-based one cost the
    receiver several function calls per delivery (bench/webhooks.py)."""

    __slots__ = ("budget", "size")

    def __init__(self, budget: BodyBudget) -> None:
        self.budget = budget
        self.size = 0

    def __enter__(self) -> Held:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.budget.held -= self.size
        self.size = 0

    def grow_to(self, size: int) -> None:
        """Hold `size` bytes in all, or raise OverBudget (holding no more than before)."""
        more = size - self.size
        if more <= 0:
            return
        if self.budget.held + more > self.budget.limit:
            raise OverBudget
        self.budget.held += more
        self.size = size


class Disconnected(Exception):
    """The client went away before its whole body arrived; there is no one left to answer."""


async def read_signed_body(
    receive: Receive, headers: dict[bytes, bytes], secret: bytes, max_bytes: int, held: Held
) -> bytearray:
    """The raw body, if it is at most `max_bytes`, fits the budget and carries a valid X-Hub-Signature-256.

    `headers` holds the request's (lower-case) header names and raw values; the body is read straight from the
    ASGI `receive`, chunk by chunk, into one buffer (no second copy), and refused as soon as it passes
    `max_bytes`. The declared Content-Length is held from the budget before any of it is read.
    """
    declared = headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise Rejected(413, f"body is larger than {max_bytes} bytes")
    signature = headers.get(b"x-hub-signature-256")
    if not signature:
        raise Rejected(401, "missing X-Hub-Signature-256 header")
    if not signature.startswith(_PREFIX):
        raise Rejected(401, "X-Hub-Signature-256 must be an sha256= signature")
    if declared is not None and declared.isdigit():
        held.grow_to(int(declared))
    body = bytearray()
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            raise Disconnected
        chunk: bytes = message.get("body", b"")
        if len(body) + len(chunk) > max_bytes:
            raise Rejected(413, f"body is larger than {max_bytes} bytes")
        held.grow_to(len(body) + len(chunk))  # a body without Content-Length is held as it arrives
        body += chunk
        more = message.get("more_body", False)
    expected = _PREFIX + hmac.digest(secret, body, hashlib.sha256).hex().encode()
    if not hmac.compare_digest(expected, signature):
        raise Rejected(401, "X-Hub-Signature-256 does not match the body")
    return body


def sign(secret: bytes, body: bytes) -> str:
    """The X-Hub-Signature-256 value GitHub would send for `body` (used by `steward deliver`)."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()
