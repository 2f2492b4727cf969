"""What every GitHub client of a process shares: one TLS context, the App's parsed private key, and (in a
worker) one connection pool.

Building either of the first two is expensive (loading the CA bundle; parsing and checking an RSA key), and
a worker builds a client per job, so both are made once per process and reused. githubkit opens an httpx
client per request and closes it after, with its connections: a TCP (and TLS) handshake per request. A
worker's clients send through one pool instead (`SharedPool`), which a client's close leaves open."""

from __future__ import annotations

import functools
import ssl
import urllib.request

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


POOL_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=20, keepalive_expiry=30.0)
"""A worker's connections to GitHub: a job makes a few requests at a time, a worker runs ten jobs at most."""


class SharedPool(httpx.AsyncBaseTransport):
    """One pool of keep-alive connections for every GitHub client of a worker (one event loop).

    A client closing (githubkit closes one after each request) leaves the pool open; `close` closes it, at
    the worker's shutdown. Timeouts stay each request's own (httpx passes them with the request)."""

    def __init__(self, limits: httpx.Limits = POOL_LIMITS) -> None:
        self._pool = httpx.AsyncHTTPTransport(verify=tls_context(), limits=limits, trust_env=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._pool.handle_async_request(request)

    async def aclose(self) -> None:
        """A client is done with the pool; the pool stays for the next one."""

    async def close(self) -> None:
        await self._pool.aclose()


def shared_pool() -> SharedPool | None:
    """A pool for a worker's clients, or None when the environment names a proxy: httpx reads HTTPS_PROXY,
    ALL_PROXY and NO_PROXY only for clients that build their own transport, so those keep doing so."""
    if {"http", "https", "all"} & set(urllib.request.getproxies()):
        return None
    return SharedPool()
