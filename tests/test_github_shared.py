"""Every GitHub client of a process shares one TLS context and the App's key parsed once (transport.py)."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from app.github.client import app_github, token_github
from app.settings import Settings

pytestmark = pytest.mark.anyio


async def test_every_client_uses_the_one_tls_context_of_the_process(settings: Settings) -> None:
    clients = [app_github(settings), app_github(settings), token_github(settings, "t1")]
    contexts = []
    for gh in clients:
        async with gh.get_async_client() as client:  # the httpx client githubkit makes per request
            contexts.append(client._transport._pool._ssl_context)  # type: ignore[attr-defined]
    assert contexts[0] is not None
    assert all(ctx is contexts[0] for ctx in contexts)


async def test_the_app_key_is_parsed_once_and_still_signs_a_valid_jwt(settings: Settings) -> None:
    first, second = app_github(settings), app_github(settings)
    key = first.auth.private_key
    assert isinstance(key, RSAPrivateKey)  # parsed, not PEM text to parse again per JWT
    assert second.auth.private_key is key
    token = await first.auth.get_auth_flow(first).aget_jwt()  # type: ignore[attr-defined]
    claims = jwt.decode(token, key.public_key(), algorithms=["RS256"])
    assert claims["iss"] == str(settings.app_id)
