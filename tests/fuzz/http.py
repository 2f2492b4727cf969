"""`steward serve` over HTTP on loopback: Schemathesis for the routes an OpenAPI document describes,
Hypothesis for the webhook receiver (raw signed bodies); no answer of 5xx, no secret in any answer.

FastAPI's own schema lists no route (each one is `include_in_schema=False`: the receiver, the probes, the
metrics and the mounted dashboard are raw Starlette routes), so `openapi()` adds each of them to it, with the
parameters the code reads. `test_every_route_is_fuzzed` keeps the two in step.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import schemathesis
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis import GenerationMode

from app.settings import Settings
from app.web.app import WebhookEdge, create_app
from app.web.server import uvicorn_config
from tests.dashboard_support import seed
from tests.fuzz.core import Leak, ServerError, Target, unexpected
from tests.fuzz.github_script import GitHubScript, scripted

__all__ = [
    "Leak",
    "ServerError",
    "Service",
    "api_target",
    "check_answer",
    "openapi",
    "serve",
    "webhook_target",
]
from tests.fuzz.text import hostile

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks" / "examples"


def _throwaway_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@dataclass
class Service:
    """`steward serve`'s app and server (uvicorn, its h11 protocol) on loopback, with throwaway secrets."""

    base_url: str
    app: WebhookEdge
    webhook_secret: str
    dashboard_token: str
    secrets: dict[str, str]
    """Every secret the process holds, by name: none may appear in an answer."""
    run_ids: list[str]
    client: httpx.Client
    settings: Settings
    github: GitHubScript
    """The loopback stand-in for GitHub that the sign-in and re-check ask (404 unless a case scripts it)."""


def _settings(redis_url: str, workdir: Path, secret_values: dict[str, str], github: str) -> Settings:
    return Settings(
        webhook_secret=SecretStr(secret_values["webhook secret"]),
        app_id=12345,
        private_key=SecretStr(secret_values["App key"]),
        redis_url=redis_url,
        database_url=f"sqlite+aiosqlite:///{workdir / 'steward.db'}",
        github_api_url=github,
        github_web_url=github,
        data_dir=workdir / "data",
        redeliver_every_minutes=0,
        dashboard_token=SecretStr(secret_values["dashboard token"]),
        dashboard_session_secret=SecretStr(secret_values["session key"]),
        dashboard_oauth_client_id="Iv1.fuzz",
        dashboard_oauth_client_secret=SecretStr(secret_values["OAuth client secret"]),
        dashboard_allowed_users=["octocat"],
        dashboard_allowed_orgs=["octo-org"],
    )


@contextmanager
def serve(redis_url: str, workdir: Path) -> Iterator[Service]:
    """The service with a seeded ledger (runs with hostile text), until the block ends."""
    values = {
        "webhook secret": secrets.token_urlsafe(24),
        "dashboard token": secrets.token_urlsafe(24),
        "session key": secrets.token_urlsafe(24),
        "OAuth client secret": secrets.token_urlsafe(24),
        "App key": _throwaway_key(),
    }
    with scripted() as github:
        yield from _serve(redis_url, workdir, values, github)


def _serve(redis_url: str, workdir: Path, values: dict[str, str], github: GitHubScript) -> Iterator[Service]:
    settings = _settings(redis_url, workdir, values, github.base_url)
    seeded = asyncio.run(seed(settings.db_url, extra_runs=3))
    app = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn_config(app, settings, "127.0.0.1", port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("steward serve did not start")
        time.sleep(0.05)
    pem_body = values["App key"].splitlines()[1]  # a line of the key's base64 is as good as the key
    leakable = {**values, "App key": pem_body}
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            yield Service(
                base, app, values["webhook secret"], values["dashboard token"], leakable,
                [seeded.agent_run, seeded.queued_run, seeded.failed_run], client, settings, github,
            )  # fmt: skip
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def check_answer(service: Service, status: int, headers: Any, body: bytes, what: str) -> None:
    """No 5xx, and no secret in the body or any header."""
    if status >= 500:
        raise ServerError(f"{what} answered {status}: {body[:300]!r}")
    said = body.decode("utf-8", "replace") + "\n" + "\n".join(f"{k}: {v}" for k, v in headers.items())
    for name, value in service.secrets.items():
        if value in said:
            raise Leak(f"{what}: the {name} is in the answer")


# The routes FastAPI leaves out of its schema ------------------------------------------------------------

_TEXT = {"type": "string"}
_HEADERS = [
    {"name": "accept", "in": "header", "schema": {"enum": ["text/html", "application/json", "*/*"]}},
    {"name": "hx-request", "in": "header", "schema": {"enum": ["true", "false"]}},
]
_RUN_LIST = [
    {"name": name, "in": "query", "schema": _TEXT}
    for name in ("state", "repo", "workflow", "engine", "since", "after")
]


def _get(*params: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"parameters": [*_HEADERS, *params], "responses": {"default": {"description": "any"}}}}


def _form(*fields: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {name: _TEXT for name in fields}}
    return {
        "post": {
            "parameters": _HEADERS,
            "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": schema}}},
            "responses": {"default": {"description": "any"}},
        }
    }


def _path(name: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", **schema}}


ROUTES: dict[str, dict[str, Any]] = {
    "/openapi.json": _get(),
    "/healthz": _get(),
    "/readyz": _get(),
    "/metrics": _get(),
    "/dashboard": _get(),
    "/dashboard/": _get(*_RUN_LIST),
    "/dashboard/runs": _get(*_RUN_LIST),
    "/dashboard/runs/{run_id}": _get(_path("run_id"), {"name": "done", "in": "query", "schema": _TEXT}),
    "/dashboard/runs/{run_id}/{action}": _form("csrf") | {},
    "/dashboard/health": _get(),
    "/dashboard/duplicates": _get(*_RUN_LIST),
    "/dashboard/login": _get({"name": "next", "in": "query", "schema": _TEXT})
    | _form("csrf", "token", "next"),
    "/dashboard/logout": _form("csrf"),
    "/dashboard/oauth/start": _get({"name": "next", "in": "query", "schema": _TEXT}),
    "/dashboard/oauth/callback": _get(
        *({"name": n, "in": "query", "schema": _TEXT} for n in ("code", "state"))
    ),
    "/dashboard/static/{file}": _get(
        _path("file", enum=["dashboard.css", "htmx.min.js", "favicon.svg", "x"])
    ),
}
ROUTES["/dashboard/runs/{run_id}/{action}"]["post"]["parameters"] = [
    *_HEADERS, _path("run_id"), _path("action", enum=["cancel", "retry", "approve", "x"]),
]  # fmt: skip


def openapi(app: WebhookEdge) -> dict[str, Any]:
    """FastAPI's schema of the app, with the routes it leaves out added."""
    schema = app.api.openapi()
    return {**schema, "openapi": "3.0.3", "paths": {**schema.get("paths", {}), **ROUTES}}


# Schemathesis ------------------------------------------------------------------------------------------


def api_cases(service: Service) -> st.SearchStrategy[Any]:
    """Cases from the schema, valid and not, half of them signed in with the operator's token."""
    schema = schemathesis.openapi.from_dict(openapi(service.app))
    drawn = st.one_of(
        schema.as_strategy(generation_mode=GenerationMode.POSITIVE),
        schema.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    return st.tuples(drawn, st.booleans(), st.sampled_from(service.run_ids))


def check_api(service: Service, drawn: tuple[Any, bool, str]) -> None:
    case, signed_in, run_id = drawn
    if case.path_parameters and "run_id" in case.path_parameters and signed_in:
        case.path_parameters["run_id"] = run_id  # a real run's pages, not only its 404
    headers = {"authorization": f"Bearer {service.dashboard_token}"} if signed_in else {}
    try:
        answer = case.call(base_url=service.base_url, headers=headers, timeout=30, allow_redirects=False)
    except Exception as exc:
        raise unexpected(exc, f"{case.method} {case.formatted_path}") from exc
    check_answer(service, answer.status_code, answer.headers, answer.content, f"{case.method} {case.path}")


# The webhook receiver ----------------------------------------------------------------------------------


def _examples() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(EXAMPLES.glob("*/*.payload.json")):
        found.append((path.parent.name, json.loads(path.read_text())))
    return found


EXAMPLE_PAYLOADS = _examples()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile, inner, max_size=3),
    max_leaves=8,
)


def _mutated(payload: Any, paths: list[list[str | int]], values: list[Any]) -> Any:
    """The payload with the value at each path (as far as it exists) replaced."""
    data = json.loads(json.dumps(payload))
    for path, value in zip(paths, values, strict=False):
        node = data
        for part in path[:-1]:
            inside = isinstance(node, list) and isinstance(part, int) and part < len(node)
            if (isinstance(node, dict) and part in node) or inside:
                node = node[part]
        last = path[-1] if path else None
        if isinstance(node, dict) and last is not None:
            node[str(last)] = value
        elif isinstance(node, list) and isinstance(last, int) and last < len(node):
            node[last] = value
    return data


KEYS = [
    "action", "comment", "body", "issue", "number", "repository", "id", "full_name", "installation", "user",
    "login", "type", "pull_request", "sender", "labels", "head", "sha", "state", "title",
]  # fmt: skip
"""Keys of GitHub's payloads whose values the receiver reads (or that route it), to replace with anything."""


@dataclass(frozen=True)
class Delivery:
    event: str | None
    delivery_id: str | None
    body: bytes
    signature: str | None
    content_type: str | None


@st.composite
def deliveries(draw: st.DrawFn, secret: str) -> Delivery:
    event, payload = draw(st.sampled_from(EXAMPLE_PAYLOADS))
    paths = draw(
        st.lists(st.lists(st.sampled_from(KEYS) | st.integers(0, 2), min_size=1, max_size=4), max_size=4)
    )
    mutated = _mutated(payload, paths, draw(st.lists(json_values, min_size=len(paths), max_size=len(paths))))
    body = draw(
        st.one_of(
            st.just(json.dumps(mutated).encode()),
            st.just(json.dumps(mutated).encode()),
            st.binary(max_size=300),
            hostile.map(lambda t: t.encode("utf-8", "surrogatepass")),
            st.sampled_from([b"", b"{}", b"[]", b"null", b'{"action": 1}', b"{" * 5000, b'{"a":' * 3000]),
        )
    )
    signed = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    signature = draw(
        st.one_of(
            st.just(signed), st.just(signed), st.just(signed.upper()), st.none(),
            hostile.map(lambda t: t[:200]),
            st.just("sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()),
        )
    )  # fmt: skip
    name = draw(
        st.one_of(st.just(event), st.just(event), st.none(), st.sampled_from(["ping", "push", "x"]), hostile)
    )
    delivery_id = draw(st.one_of(st.uuids().map(str), st.none(), hostile.map(lambda t: t[:150])))
    content_type = draw(
        st.sampled_from(["application/json", None, "text/plain", "application/x-www-form-urlencoded"])
    )
    return Delivery(name, delivery_id, body, signature, content_type)


def _header(value: str) -> bytes:
    """A header value an HTTP/1.1 client can send (h11 refuses controls and edge white space)."""
    return re.sub(r"[\x00-\x1f\x7f]", "", value).strip().encode("utf-8", "replace")


def check_delivery(service: Service, delivery: Delivery) -> None:
    headers = [
        (b"x-github-event", delivery.event), (b"x-github-delivery", delivery.delivery_id),
        (b"x-hub-signature-256", delivery.signature), (b"content-type", delivery.content_type),
    ]  # fmt: skip
    sent = [(name, _header(value)) for name, value in headers if value is not None]
    try:
        answer = service.client.post("/webhooks", content=delivery.body, headers=sent)
    except httpx.HTTPError as exc:
        raise unexpected(exc, "POST /webhooks") from exc
    check_answer(service, answer.status_code, answer.headers, answer.content, "POST /webhooks")


def api_target(service: Service) -> Target:
    return Target("http api (schemathesis)", api_cases(service), lambda case: check_api(service, case))


def webhook_target(service: Service) -> Target:
    strategy = deliveries(service.webhook_secret)
    return Target("webhook receiver", strategy, lambda delivery: check_delivery(service, delivery))
