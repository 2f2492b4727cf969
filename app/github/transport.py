"""What every GitHub client of a process shares: one TLS context and the App's parsed private key.

Building either is expensive (loading the CA bundle; parsing and checking an RSA key), and a worker builds
a client per job, so both are made once per process and reused."""

from __future__ import annotations

import functools
import ssl

import httpx
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import load_pem_private_key


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's TLS context for GitHub, exactly httpx's default one (its CA bundle, SSL_CERT_FILE and
    SSL_CERT_DIR honoured), built on first use."""
    return httpx.create_ssl_context()


@functools.lru_cache(maxsize=4)
def app_private_key(pem: str) -> PrivateKeyTypes:
    """The App's key parsed from its PEM text, once per distinct text (a rotated key is parsed anew)."""
    return load_pem_private_key(pem.encode(), password=None)
