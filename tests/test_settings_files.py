"""Secret settings read from files (`STEWARD_<NAME>_FILE`, as Docker secrets provide them)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from app.settings import Settings, SettingsError, load_settings
from app.settings_secrets import SECRET_FILE_MAX_BYTES, secret_fields

SECRETS = (
    *("webhook_secret", "private_key", "model_api_key", "database_url"),
    *("dashboard_token", "dashboard_oauth_client_secret", "dashboard_session_secret", "otlp_headers"),
)
"""The secret settings today; a new SecretStr setting joins secret_fields() by its type alone."""


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.upper().startswith("STEWARD_"):
            monkeypatch.delenv(name)


def written(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def refusal(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    return str(caught.value)


def test_every_secret_setting_is_found_by_its_type() -> None:
    assert sorted(secret_fields(Settings)) == sorted(SECRETS)


def test_each_secret_is_read_from_its_file_without_the_trailing_newline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    webhook = secrets.token_hex(16)
    pem = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----"
    url = f"postgresql+asyncpg://steward:{secrets.token_hex(8)}@postgres:5432/steward"
    monkeypatch.setenv("STEWARD_WEBHOOK_SECRET_FILE", str(written(tmp_path, "hook", webhook + "\n")))
    monkeypatch.setenv("STEWARD_PRIVATE_KEY_FILE", str(written(tmp_path, "key", pem + "\n")))
    monkeypatch.setenv("STEWARD_DATABASE_URL_FILE", str(written(tmp_path, "db", url)))
    monkeypatch.setenv("STEWARD_MODEL_API_KEY_FILE", str(written(tmp_path, "model", "sk-test\r\n")))
    monkeypatch.setenv("STEWARD_MODEL_PROVIDER", "anthropic")
    monkeypatch.setenv("STEWARD_MODEL_NAME", "claude")
    monkeypatch.setenv("STEWARD_MODEL_PRICES", '{"input_per_mtok": 1, "output_per_mtok": 2}')
    settings = load_settings()
    assert settings.webhook_secret is not None and settings.webhook_secret.get_secret_value() == webhook
    assert settings.private_key_pem() == pem
    assert settings.db_url == url
    assert settings.model_api_key is not None and settings.model_api_key.get_secret_value() == "sk-test"
    assert webhook not in repr(settings) and url not in repr(settings)  # the URL carries a password


def test_a_missing_file_is_named_with_its_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    said = refusal(monkeypatch, {"STEWARD_WEBHOOK_SECRET_FILE": str(missing)})
    assert said == f"STEWARD_WEBHOOK_SECRET_FILE: cannot read {missing}: No such file or directory"


def test_an_unreadable_empty_or_huge_file_is_refused_without_showing_its_text(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    said = refusal(monkeypatch, {"STEWARD_MODEL_API_KEY_FILE": str(tmp_path)})
    assert said == f"STEWARD_MODEL_API_KEY_FILE: cannot read {tmp_path}: Is a directory"
    empty = written(tmp_path, "empty", "\n")
    said = refusal(monkeypatch, {"STEWARD_MODEL_API_KEY_FILE": str(empty)})
    assert said == f"STEWARD_MODEL_API_KEY_FILE: {empty} is empty"
    secret = secrets.token_hex(8)
    huge = written(tmp_path, "huge", secret + "x" * SECRET_FILE_MAX_BYTES)
    said = refusal(monkeypatch, {"STEWARD_MODEL_API_KEY_FILE": str(huge)})
    assert said == f"STEWARD_MODEL_API_KEY_FILE: {huge} is larger than 64 KiB" and secret not in said
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe" + secret.encode())
    said = refusal(monkeypatch, {"STEWARD_MODEL_API_KEY_FILE": str(binary)})
    assert said == f"STEWARD_MODEL_API_KEY_FILE: {binary} is not UTF-8 text"


def test_a_value_and_a_file_for_the_same_secret_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from_file, from_env = secrets.token_hex(8), secrets.token_hex(8)
    said = refusal(
        monkeypatch,
        {
            "STEWARD_WEBHOOK_SECRET": from_env,
            "STEWARD_WEBHOOK_SECRET_FILE": str(written(tmp_path, "hook", from_file)),
        },
    )
    assert said == "set STEWARD_WEBHOOK_SECRET or STEWARD_WEBHOOK_SECRET_FILE, not both"
    assert from_env not in said and from_file not in said


def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Compose passes `STEWARD_X=` for a variable left blank in .env; that must not clash with the file."""
    monkeypatch.setenv("STEWARD_WEBHOOK_SECRET", "")
    monkeypatch.setenv("STEWARD_WEBHOOK_SECRET_FILE", str(written(tmp_path, "hook", "s3cret")))
    monkeypatch.setenv("STEWARD_MODEL_API_KEY_FILE", " ")
    monkeypatch.setenv("STEWARD_MODEL_PRICES", "")  # was refused as "not JSON", stopping the worker
    settings = load_settings()
    assert settings.webhook_secret is not None and settings.webhook_secret.get_secret_value() == "s3cret"
    assert settings.model_api_key is None and settings.model_prices is None


def test_the_key_file_and_the_key_path_are_not_both_allowed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = written(tmp_path, "key", "pem")
    said = refusal(monkeypatch, {"STEWARD_PRIVATE_KEY_FILE": str(key), "STEWARD_PRIVATE_KEY_PATH": str(key)})
    assert "STEWARD_PRIVATE_KEY_FILE" in said and "STEWARD_PRIVATE_KEY_PATH" in said and "not two" in said
