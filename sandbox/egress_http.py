"""A plain-HTTP request, rebuilt so that upstream sees only the host the allowlist checked.

RFC 9112 section 3.2.2: a proxy given an absolute URL must ignore the client's Host and use the URL's. A
client's Host (or any header a CDN routes by) would otherwise send a request for an allowlisted address's
host to another service behind the same CDN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

BODY_LIMIT = 1024 * 1024
"""Installers send GETs; a request body larger than this is refused rather than held."""

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_TARGET = re.compile(r"[\x21-\x7e]+")
_VERSION = re.compile(r"HTTP/1\.[01]")
_LENGTH = re.compile(r"[0-9]{1,12}")
_FIELD = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n\x00]*?)[ \t]*")
"""A header line exactly as RFC 9110 spells it: no space before the colon, no bare CR or LF, no NUL."""

_DROPPED = {
    "host",  # rebuilt from the URL
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",  # a tunnel to something else
    "forwarded",
    "x-host",
    "x-http-host-override",
    "x-original-url",
    "x-rewrite-url",
    "x-real-ip",
}
_DROPPED_PREFIXES = ("proxy-", "x-forwarded-")


class BadRequest(ValueError):
    """A request the proxy will not forward; the message says why (the client gets it with a 400 or 413)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Forward:
    """Where the request goes, the head to send there, and how many body bytes follow it."""

    host: str
    port: int
    head: bytes
    body_length: int


def printable(target: str) -> bool:
    """A request target of visible ASCII only (no space, control character, NUL): what a CONNECT may name."""
    return _TARGET.fullmatch(target) is not None


def rebuild(method: str, target: str, version: str, header_lines: list[str]) -> Forward:
    """One request only: its Host from the URL, routing and hop-by-hop headers dropped, its body framed."""
    if not (_TOKEN.fullmatch(method) and _TARGET.fullmatch(target) and _VERSION.fullmatch(version)):
        raise BadRequest("malformed request line")
    url = urlsplit(target)
    if url.scheme != "http" or not url.hostname:
        raise BadRequest("only absolute http:// URLs and CONNECT are proxied")
    try:
        port = url.port or 80
    except ValueError:
        raise BadRequest(f"bad port in {target!r}") from None
    host = url.hostname
    fields = _parse(header_lines)
    nominated = {
        token.strip().lower() for name, value in fields if name == "connection" for token in value.split(",")
    }
    if any(name == "transfer-encoding" for name, _ in fields):
        raise BadRequest("chunked (Transfer-Encoding) request bodies are not proxied; send Content-Length")
    length = _body_length([value for name, value in fields if name == "content-length"])
    kept = [
        line
        for (name, _), line in zip(fields, header_lines, strict=True)
        if name not in _DROPPED and name not in nominated and not name.startswith(_DROPPED_PREFIXES)
    ]
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    authority = f"[{host}]" if ":" in host else host
    if port != 80:
        authority += f":{port}"
    lines = [f"{method} {path} {version}", f"Host: {authority}", *kept, "Connection: close", "", ""]
    return Forward(host, port, "\r\n".join(lines).encode("latin-1"), length)


def _parse(header_lines: list[str]) -> list[tuple[str, str]]:
    fields = []
    for line in header_lines:
        match = _FIELD.fullmatch(line)
        if match is None:
            raise BadRequest(f"malformed header line {line[:80]!r}")
        fields.append((match[1].lower(), match[2]))
    return fields


def _body_length(values: list[str]) -> int:
    if not values:
        return 0
    if len(set(values)) != 1 or not _LENGTH.fullmatch(values[0]):
        raise BadRequest(f"ambiguous Content-Length {values!r}")
    length = int(values[0])
    if length > BODY_LIMIT:
        raise BadRequest(f"request body of {length} bytes is over the proxy's {BODY_LIMIT}", status=413)
    return length
