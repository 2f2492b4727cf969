"""Read a webhook body within GitHub's size cap and check its signature, before anything parses it."""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request

SIGNATURE_PREFIX = "sha256="


class Rejected(Exception):
    """A delivery refused at the edge, with the HTTP status and message it is answered with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_signed_body(request: Request, secret: bytes, max_bytes: int) -> bytes:
    """The raw body, if it is at most `max_bytes` and carries a valid X-Hub-Signature-256."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise Rejected(413, f"body is larger than {max_bytes} bytes")
    signature = request.headers.get("x-hub-signature-256")
    if not signature:
        raise Rejected(401, "missing X-Hub-Signature-256 header")
    if not signature.startswith(SIGNATURE_PREFIX):
        raise Rejected(401, "X-Hub-Signature-256 must be an sha256= signature")
    mac = hmac.new(secret, digestmod=hashlib.sha256)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise Rejected(413, f"body is larger than {max_bytes} bytes")
        mac.update(chunk)
        chunks.append(chunk)
    expected = (SIGNATURE_PREFIX + mac.hexdigest()).encode()
    if not hmac.compare_digest(expected, signature.encode("latin-1")):
        raise Rejected(401, "X-Hub-Signature-256 does not match the body")
    return b"".join(chunks)


def sign(secret: bytes, body: bytes) -> str:
    """The X-Hub-Signature-256 value GitHub would send for `body` (used by `steward deliver`)."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()
