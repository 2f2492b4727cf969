"""Read a webhook body within GitHub's size cap and check its signature, before anything parses it."""

from __future__ import annotations

import hashlib
import hmac

from starlette.types import Receive

SIGNATURE_PREFIX = "sha256="
_PREFIX = SIGNATURE_PREFIX.encode()


class Rejected(Exception):
    """A delivery refused at the edge, with the HTTP status and message it is answered with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Disconnected(Exception):
    """The client went away before its whole body arrived; there is no one left to answer."""


async def read_signed_body(
    receive: Receive, headers: dict[bytes, bytes], secret: bytes, max_bytes: int
) -> bytes:
    """The raw body, if it is at most `max_bytes` and carries a valid X-Hub-Signature-256.

    `headers` holds the request's (lower-case) header names and raw values; the body is read straight from the
    ASGI `receive`, chunk by chunk, and refused as soon as it passes `max_bytes`.
    """
    declared = headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise Rejected(413, f"body is larger than {max_bytes} bytes")
    signature = headers.get(b"x-hub-signature-256")
    if not signature:
        raise Rejected(401, "missing X-Hub-Signature-256 header")
    if not signature.startswith(_PREFIX):
        raise Rejected(401, "X-Hub-Signature-256 must be an sha256= signature")
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            raise Disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise Rejected(413, f"body is larger than {max_bytes} bytes")
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    expected = _PREFIX + hmac.digest(secret, body, hashlib.sha256).hex().encode()
    if not hmac.compare_digest(expected, signature):
        raise Rejected(401, "X-Hub-Signature-256 does not match the body")
    return body


def sign(secret: bytes, body: bytes) -> str:
    """The X-Hub-Signature-256 value GitHub would send for `body` (used by `steward deliver`)."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()
