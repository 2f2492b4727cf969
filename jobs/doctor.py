"""`steward doctor`: check each thing Steward needs, and say plainly what is missing and how to fix it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from app.settings import Settings, SettingsError, otlp_headers
from jobs.worker import safe_url

CHECK_TIMEOUT_SECONDS = 8.0
"""No check may hang: an unreachable service fails after this long."""


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True

    def line(self) -> str:
        status = "ok  " if self.ok else ("FAIL" if self.required else "warn")
        text = f"{status}  {self.name:<18} {self.detail}"
        return text if self.ok or not self.fix else f"{text}\n      fix: {self.fix}"


async def check_redis(settings: Settings) -> Check:
    from redis.asyncio import Redis

    client = Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=3)
    where = safe_url(settings.redis_url)
    try:
        await client.ping()
        return Check("redis", True, where)
    except Exception as exc:
        return Check(
            "redis",
            False,
            f"cannot reach {where}: {exc}",
            "start redis-server (`make deps` installs it) or set STEWARD_REDIS_URL",
        )
    finally:
        await client.aclose()


async def check_worker(settings: Settings, host: str | None = None) -> Check:
    """The worker on this host is alive: its heartbeat (jobs/heartbeat.py) is fresh in Redis."""
    from redis.asyncio import Redis

    from jobs.heartbeat import HEARTBEAT_SECONDS, heartbeat_key

    key = heartbeat_key(host)
    client = Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=3)
    try:
        record = await client.get(key)
    except Exception as exc:
        return Check("worker", False, f"cannot read its heartbeat: {exc}", "check STEWARD_REDIS_URL")
    finally:
        await client.aclose()
    if record is None:
        return Check(
            "worker", False, f"no heartbeat under {key} in the last {HEARTBEAT_SECONDS + 1} s",
            "the worker on this host is not running or not polling its queue: read its log",
        )  # fmt: skip
    return Check("worker", True, f"alive: {record.decode(errors='replace')[:200]}")


async def check_database(settings: Settings) -> Check:
    from jobs.db import make_engine, migrate

    where = safe_url(settings.db_url)
    engine = make_engine(settings.db_url)
    try:
        await migrate(engine)
        return Check("database", True, f"{where} (migrated)")
    except Exception as exc:
        return Check(
            "database",
            False,
            f"{where}: {type(exc).__name__}: {exc}".splitlines()[0],
            "set STEWARD_DATABASE_URL to a reachable database (or unset it for SQLite)",
        )
    finally:
        await engine.dispose()


def check_docker() -> Check:
    import docker

    try:
        docker.from_env(timeout=5).ping()
        return Check("docker", True, "daemon answers")
    except Exception as exc:
        return Check(
            "docker",
            False,
            f"daemon unreachable: {exc}",
            "start dockerd (`make deps`) or set DOCKER_HOST; the user needs access to its socket",
        )


def check_image(settings: Settings) -> Check:
    import docker

    try:
        docker.from_env(timeout=5).images.get(settings.sandbox_image)
        return Check("sandbox image", True, settings.sandbox_image)
    except Exception as exc:
        missing = type(exc).__name__ == "ImageNotFound"
        detail = "not built" if missing else f"cannot check: {exc}"
        return Check(
            "sandbox image",
            False,
            f"{settings.sandbox_image}: {detail}",
            "run `make image` (`steward sandbox build`) or set STEWARD_SANDBOX_IMAGE",
        )


def check_key(settings: Settings) -> Check:
    fix = (
        "set STEWARD_PRIVATE_KEY (PEM text), or STEWARD_PRIVATE_KEY_FILE or STEWARD_PRIVATE_KEY_PATH (a file)"
    )
    try:
        settings.require("app_id", "private_key")
        key = load_pem_private_key(settings.private_key_pem().encode(), password=None)
    except SettingsError as exc:
        return Check("github key", False, str(exc), fix)
    except (ValueError, TypeError):
        return Check("github key", False, "the private key is not a readable PEM key", fix)
    if not isinstance(key, rsa.RSAPrivateKey):
        return Check("github key", False, "the private key is not an RSA key", fix)
    return Check("github key", True, f"App {settings.app_id}, RSA {key.key_size} bits")


async def check_github_api(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> Check:
    from githubkit.exception import RequestFailed

    from app.github.client import app_github

    url = settings.github_api_url
    gh = app_github(settings, transport=transport, timeout=5.0)
    try:
        with anyio.fail_after(CHECK_TIMEOUT_SECONDS):
            response = await gh.arequest("GET", "app")
    except RequestFailed as exc:
        return Check(
            "github app",
            False,
            f"GET {url}/app answered {exc.response.status_code}",
            "check STEWARD_APP_ID and that the key belongs to this App (regenerate it in the App settings)",
        )
    except Exception as exc:
        return Check(
            "github app",
            False,
            f"cannot reach {url} ({type(exc).__name__})",
            "check the network and STEWARD_GITHUB_API_URL (GHES: https://HOST/api/v3)",
            required=False,
        )
    slug = response.raw_response.json().get("slug", "?")
    return Check("github app", True, f"authenticated as App `{slug}` at {url}")


def check_embeddings() -> Check:
    """Semantic duplicate retrieval is optional: say plainly when triage runs on words alone."""
    from jobs.duplicates.semantic import (
        embeddings_available,
    )  # the duplicates package decides, not a list here

    available, reason = embeddings_available()
    if not available:
        return Check(
            "embeddings",
            False,
            f"lexical only: {reason}",
            "`make embeddings` for semantic duplicate triage (optional)",
            required=False,
        )
    from jobs.duplicates.semantic import backend

    return Check("embeddings", True, f"semantic duplicate triage: {reason}; {backend()}", required=False)


async def check_vectors(settings: Settings) -> Check:
    """Stored duplicate-index vectors another embedding model made: compared with nothing until replaced."""
    from jobs.db import make_engine, sessions
    from jobs.duplicates import semantic
    from jobs.duplicates.reembed import other_models

    engine = make_engine(settings.db_url)
    try:
        stale = await other_models(sessions(engine))
    except Exception as exc:  # no table yet, or the database check already failed: say so, softly
        return Check("index vectors", False, f"not read: {type(exc).__name__}", required=False)
    finally:
        await engine.dispose()
    if not stale:
        return Check("index vectors", True, f"every stored vector is {semantic.model_id()}", required=False)
    models = ", ".join(f"{n} from {model or 'an unrecorded model'}" for model, n in sorted(stale.items()))
    return Check(
        "index vectors",
        False,
        f"{models} (now {semantic.model_id()}): these items rank on words alone",
        "`steward duplicates reembed`",
        required=False,
    )


def check_schedule(settings: Settings, now: datetime | None = None) -> list[Check]:
    """Each scheduled job with its next run time (UTC), or that it is off and why."""
    from jobs.scheduled import next_runs

    now = now or datetime.now(UTC)
    lines = []
    for item, when in next_runs(settings, now):
        if when is None:
            lines.append(Check(f"cron {item.name}", True, f"off ({item.summary})", required=False))
        else:
            at = when.strftime("%Y-%m-%d %H:%M UTC")
            lines.append(Check(f"cron {item.name}", True, f"next run {at}: {item.summary}", required=False))
    return lines


async def run_checks(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> list[Check]:
    """Every check, each bounded in time."""
    checks: list[Check] = []

    async def bounded(name: str, make: Callable[[], Awaitable[Check]]) -> Check:
        try:
            return await asyncio.wait_for(make(), CHECK_TIMEOUT_SECONDS)
        except TimeoutError:
            return Check(name, False, f"no answer within {CHECK_TIMEOUT_SECONDS:.0f}s")

    checks.append(await bounded("redis", lambda: check_redis(settings)))
    checks.append(await bounded("database", lambda: check_database(settings)))
    checks.append(await bounded("docker", lambda: asyncio.to_thread(check_docker)))
    checks.append(await bounded("sandbox image", lambda: asyncio.to_thread(check_image, settings)))
    key = check_key(settings)
    checks.append(key)
    if key.ok:
        checks.append(await bounded("github app", lambda: check_github_api(settings, transport)))
    checks.append(check_embeddings())
    checks.append(await bounded("index vectors", lambda: check_vectors(settings)))
    checks.append(check_observability(settings))
    checks.extend(check_schedule(settings))
    return checks


def check_observability(settings: Settings) -> Check:
    """What an operator can watch: never a failure, only what is on and how to turn the rest on."""
    metrics = "metrics on GET /metrics" if settings.metrics else "GET /metrics off (STEWARD_METRICS=false)"
    worker = "the worker's with `steward worker --metrics-port PORT`"
    if settings.otlp_endpoint is None:
        fix = "set STEWARD_OTLP_ENDPOINT to an OTLP/HTTP collector to send traces"
        return Check("observability", False, f"{metrics}, {worker}; traces off", fix, required=False)
    headers = ""
    if settings.otlp_headers is not None:  # their names only: the values are secrets
        names = sorted(otlp_headers(settings.otlp_headers.get_secret_value()))
        headers = " with headers " + ", ".join(names)
    where = safe_url(settings.otlp_endpoint)
    return Check("observability", True, f"{metrics}, {worker}; traces to {where}{headers}")
