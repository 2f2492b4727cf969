"""The model settings: validated at start, a partial one named with what to set, and the key kept secret."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.settings import MODEL_FIELDS, ModelPrices, Settings, SettingsError, load_settings
from jobs.agent.model import ModelNotConfigured, build_model

LOCAL = {
    "STEWARD_MODEL_PROVIDER": "openai",
    "STEWARD_MODEL_BASE_URL": "http://127.0.0.1:8080/v1",
    "STEWARD_MODEL_NAME": "qwen2.5-coder-7b-instruct",
    "STEWARD_MODEL_PRICES": '{"input_per_mtok": 0, "output_per_mtok": 0}',
}
"""A llama.cpp server on loopback: no key, free."""
ROW = re.compile(r"`(STEWARD_[A-Z_]+)`")


@pytest.fixture(autouse=True)
def _no_model_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in MODEL_FIELDS:
        monkeypatch.delenv(f"STEWARD_{name.upper()}", raising=False)


def loaded(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def refusal(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as caught:
        loaded(monkeypatch, env)
    return str(caught.value)


def test_a_local_endpoint_needs_no_key_and_the_prices_are_read_from_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = loaded(
        monkeypatch, {**LOCAL, "STEWARD_MODEL_PRICES": '{"input_per_mtok": 0.5, "output_per_mtok": 2}'}
    )
    assert (settings.model_provider, settings.model_base_url, settings.model_name) == (
        "openai",
        "http://127.0.0.1:8080/v1",
        "qwen2.5-coder-7b-instruct",
    )
    assert settings.model_api_key is None
    assert settings.model_prices == ModelPrices(input_per_mtok=0.5, output_per_mtok=2.0)


def test_nothing_set_is_no_model_and_empty_values_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = loaded(monkeypatch, {"STEWARD_MODEL_PROVIDER": "", "STEWARD_MODEL_NAME": " "})
    assert all(getattr(settings, name) is None for name in MODEL_FIELDS)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"STEWARD_MODEL_PROVIDER": "openai"},
            [
                "STEWARD_MODEL_PROVIDER=openai also needs STEWARD_MODEL_NAME",
                "STEWARD_MODEL_PRICES (JSON",
                "STEWARD_MODEL_API_KEY (OpenAI's API needs one), or STEWARD_MODEL_BASE_URL for a local",
            ],
        ),
        (
            {"STEWARD_MODEL_NAME": "gpt-4.1", "STEWARD_MODEL_API_KEY": "sk-x"},
            ["STEWARD_MODEL_NAME, STEWARD_MODEL_API_KEY set but STEWARD_MODEL_PROVIDER is not"],
        ),
        (
            {**LOCAL, "STEWARD_MODEL_NAME": ""},
            ["also needs STEWARD_MODEL_NAME (the model the endpoint serves)"],
        ),
        (
            {k: v for k, v in LOCAL.items() if k != "STEWARD_MODEL_PRICES"},
            ["also needs STEWARD_MODEL_PRICES"],
        ),
        (
            {**LOCAL, "STEWARD_MODEL_PROVIDER": "anthropic"},
            ["STEWARD_MODEL_PROVIDER=anthropic also needs STEWARD_MODEL_API_KEY (Anthropic's API needs one)"],
        ),
        (
            {**LOCAL, "STEWARD_MODEL_PROVIDER": "gemini"},
            ["STEWARD_MODEL_PROVIDER: Input should be 'openai' or"],
        ),
        ({**LOCAL, "STEWARD_MODEL_PRICES": "cheap"}, ["STEWARD_MODEL_PRICES: Value error, not JSON"]),
        (
            {**LOCAL, "STEWARD_MODEL_PRICES": '{"input_per_mtok": -1, "output_per_mtok": 1}'},
            ["STEWARD_MODEL_PRICES (input_per_mtok): Input should be greater than or equal to 0"],
        ),
        (
            {**LOCAL, "STEWARD_MODEL_PRICES": '{"input_per_mtok": 1}'},
            ["STEWARD_MODEL_PRICES (output_per_mtok)"],
        ),
        (
            {**LOCAL, "STEWARD_MODEL_PRICES": '{"input_per_mtok": 1, "output_per_mtok": 1, "per_call": 1}'},
            ["STEWARD_MODEL_PRICES (per_call): Extra inputs are not permitted"],
        ),
        (
            {**LOCAL, "STEWARD_MODEL_BASE_URL": "127.0.0.1:8080"},
            ["STEWARD_MODEL_BASE_URL: Value error, expected"],
        ),
    ],
)
def test_a_partial_or_bad_model_setting_is_refused_naming_what_to_set(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: list[str]
) -> None:
    message = refusal(monkeypatch, env)
    for part in expected:
        assert part in message


def test_credentials_in_the_base_url_are_refused_without_repeating_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    password = secrets.token_urlsafe(16)
    message = refusal(
        monkeypatch, {**LOCAL, "STEWARD_MODEL_BASE_URL": f"http://me:{password}@127.0.0.1:8080/v1"}
    )
    assert "must not carry credentials; put the key in STEWARD_MODEL_API_KEY" in message
    assert password not in message


def test_a_list_setting_that_is_not_json_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    assert refusal(monkeypatch, {"STEWARD_SANDBOX_IMAGES": "[steward-sandbox:2"}) == (
        "invalid settings: STEWARD_SANDBOX_IMAGES: not valid JSON"
    )


def test_the_api_key_never_shows_in_the_settings_printed_or_dumped(monkeypatch: pytest.MonkeyPatch) -> None:
    key = f"sk-{secrets.token_urlsafe(32)}"
    settings = loaded(monkeypatch, {**LOCAL, "STEWARD_MODEL_API_KEY": key})
    assert settings.model_api_key is not None and settings.model_api_key.get_secret_value() == key
    for text in (
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        json.dumps(settings.model_dump(), default=str),
    ):
        assert key not in text


def test_the_agent_engine_without_a_model_says_what_to_set() -> None:
    with pytest.raises(ModelNotConfigured) as caught:
        build_model(Settings())
    message = str(caught.value)
    assert isinstance(caught.value, SettingsError)  # the CLI and the worker already report those
    for name in MODEL_FIELDS:
        assert f"STEWARD_{name.upper()}" in message, name
    assert "openai or anthropic" in message


def test_a_configured_model_is_built_for_its_provider() -> None:
    prices = ModelPrices(input_per_mtok=0, output_per_mtok=0)
    local = build_model(
        Settings(
            model_provider="openai",
            model_base_url=LOCAL["STEWARD_MODEL_BASE_URL"],
            model_name="qwen",
            model_prices=prices,
        )
    )
    hosted = build_model(
        Settings(
            model_provider="openai",
            model_name="gpt-4.1",
            model_prices=prices,
            model_api_key=SecretStr("sk-not-real-000000"),
        )
    )
    claude = build_model(
        Settings(
            model_provider="anthropic",
            model_name="claude-sonnet-4-5",
            model_prices=prices,
            model_api_key=SecretStr("sk-ant-not-real-00000"),
        )
    )
    assert [(m.system, m.model_name, m.base_url) for m in (local, hosted, claude)] == [
        ("openai-compatible", "qwen", "http://127.0.0.1:8080/v1/"),
        ("openai", "gpt-4.1", "https://api.openai.com/v1/"),
        ("anthropic", "claude-sonnet-4-5", "https://api.anthropic.com"),
    ]


def test_every_setting_has_a_row_in_the_readme_settings_table() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    rows = {
        name
        for line in readme.splitlines()
        if line.startswith("| `STEWARD_")
        for name in ROW.findall(line.split("|")[1])
    }
    assert {f"STEWARD_{name.upper()}" for name in Settings.model_fields} <= rows
