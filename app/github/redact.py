"""Keep credentials out of logs: a filter that masks tokens, JWTs and every secret this process minted."""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"
TOKEN_PATTERN = re.compile(
    r"\b(gh[opsur]_[A-Za-z0-9_]{16,}|github_pat_[A-Za-z0-9_]{20,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_.-]{8,})"
)
"""GitHub token formats (ghs_ installation, ghp_ personal, ...) and JWTs (the App's bearer)."""
MAX_REMEMBERED = 1024

_secrets: list[str] = []
_lock = threading.Lock()


def register_secret(secret: str) -> None:
    """Remember a secret of any shape (e.g. a GHES token) so the filter masks it too."""
    if len(secret) < 8:
        return
    with _lock:
        if secret not in _secrets:
            _secrets.append(secret)
            del _secrets[:-MAX_REMEMBERED]


def redact(text: str) -> str:
    """The text with every known secret and token-shaped string masked."""
    with _lock:
        known = list(_secrets)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return TOKEN_PATTERN.sub(MASK, text)


class RedactSecrets(logging.Filter):
    """Rewrites a record's message (and formatted traceback) with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            formatted = logging.Formatter().formatException(record.exc_info)
            if redact(formatted) != formatted:
                record.exc_text = redact(formatted)
                record.exc_info = None
        return True


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of `logger` (the root logger by default) once."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
