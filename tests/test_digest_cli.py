"""`steward digest --dry-run`: the digest printed with the operator's App credentials, nothing posted; clear
errors for a bad --since, a bad or unknown repository, missing credentials."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from typer.testing import CliRunner

from app.cli import app
from app.settings import Settings
from jobs.db import make_engine, migrate, sessions
from jobs.digest.preview import preview
from tests.digest_support import FULL, NOW, DigestGitHub, seed_ledger
from tests.github_mock import API


@pytest.fixture
def operator(monkeypatch: pytest.MonkeyPatch, private_key_pem: str, tmp_path: Path) -> str:
    """The operator's environment: the App's id and key, and a ledger with a week of Steward's runs."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}"
    for name in ("STEWARD_PRIVATE_KEY_PATH", "STEWARD_PRIVATE_KEY_FILE", "STEWARD_APP_ID_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STEWARD_APP_ID", "12345")
    monkeypatch.setenv("STEWARD_PRIVATE_KEY", private_key_pem)
    monkeypatch.setenv("STEWARD_DATABASE_URL", url)

    async def seed() -> None:
        engine = make_engine(url)
        await migrate(engine)
        await seed_ledger(sessions(engine))
        await engine.dispose()

    asyncio.run(seed())
    return url


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["digest", *args])


def test_the_dry_run_prints_the_digest_and_posts_nothing(operator: str) -> None:
    github = DigestGitHub()
    with github.install(respx.mock(assert_all_called=False)) as router:
        done = invoke("--repo", FULL, "--since", "90d", "--dry-run")
    assert done.exit_code == 0, done.output
    assert "## Weekly review: 20" in done.output and "### Pull requests merged: [" in done.output
    assert "### Steward's own runs" in done.output and "### Blocked on whom" in done.output
    assert github.writes == []
    assert all(
        call.request.method == "GET" or call.request.url.path.endswith(("/access_tokens",))
        for call in router.calls
    )
    [token] = github.token_bodies  # read-only, this repository only
    assert token == {
        "repositories": ["Hello-World"],
        "permissions": {"contents": "read", "issues": "read", "pull_requests": "read", "metadata": "read"},
    }


def test_the_preview_holds_the_weeks_items(settings: Settings, tmp_path: Path) -> None:
    async def go() -> str:
        engine = make_engine(settings.db_url)
        await migrate(engine)
        await seed_ledger(sessions(engine))
        await engine.dispose()
        with DigestGitHub().install(respx.mock(assert_all_called=False)):
            body, warnings = await preview(settings, _repo(), timedelta(days=7), now=NOW)
        assert warnings == []
        return body

    body = asyncio.run(go())
    assert "[#101](" in body and "[#110](" in body and "12,345 model tokens" in body


def _repo() -> Any:
    from app.github.protocol import RepoId

    return RepoId.parse(FULL)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--repo", FULL, "--since", "7days", "--dry-run"],
            "--since '7days': use a whole number and h, d or w",
        ),
        (["--repo", FULL, "--since", "400d", "--dry-run"], "at most 90 days"),
        (["--repo", "not-a-repo", "--dry-run"], "--repo 'not-a-repo': use OWNER/NAME"),
        (["--repo", "../x/../../etc", "--dry-run"], "use OWNER/NAME"),
        (["--repo", FULL], "add --dry-run"),
    ],
)
def test_bad_arguments_get_a_clear_answer(operator: str, args: list[str], error: str) -> None:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        done = invoke(*args)
    assert done.exit_code == 2 and error in done.output, done.output
    assert router.calls.call_count == 0  # told before GitHub is asked anything


def test_an_unknown_repository_is_named(operator: str) -> None:
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{API}/repos/octo-org/nope/installation").mock(
            return_value=httpx.Response(404, json={"message": "Not Found", "status": "404"})
        )
        done = invoke("--repo", "octo-org/nope", "--dry-run")
    assert done.exit_code == 2, done.output
    assert "octo-org/nope: no such repository, or the App (id 12345) is not installed there" in done.output


def test_an_unreachable_ledger_leaves_out_stewards_runs_and_says_so(
    operator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEWARD_DATABASE_URL", "postgresql+asyncpg://steward:hunter2@127.0.0.1:9/ledger")
    github = DigestGitHub()
    with github.install(respx.mock(assert_all_called=False)):
        done = invoke("--repo", FULL, "--dry-run")
    assert done.exit_code == 0, done.output
    assert "warning: the ledger cannot be opened" in done.output and "hunter2" not in done.output
    assert "0 runs started" in done.output and github.writes == []


def test_missing_credentials_are_named(operator: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STEWARD_APP_ID")
    monkeypatch.delenv("STEWARD_PRIVATE_KEY")
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        done = invoke("--repo", FULL, "--dry-run")
    assert done.exit_code == 2 and "missing settings: STEWARD_APP_ID, STEWARD_PRIVATE_KEY" in done.output
    assert router.calls.call_count == 0
