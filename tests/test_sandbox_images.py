"""Only the images the operator allowlists may be picked by a repository's configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.config.loader import parse_config
from app.settings import Settings
from sandbox import images

DEFAULT = "steward-sandbox:0.1.0"
runner = CliRunner()


def test_no_image_configured_means_the_default_and_the_default_is_always_allowed() -> None:
    assert images.choose(None, DEFAULT, [DEFAULT]) == DEFAULT
    assert images.choose(DEFAULT, DEFAULT, [DEFAULT]) == DEFAULT
    assert Settings(sandbox_image=DEFAULT).allowed_images == [DEFAULT]
    extra = Settings(sandbox_image=DEFAULT, sandbox_images=["py:3.12", DEFAULT])
    assert extra.allowed_images == [DEFAULT, "py:3.12"]


@pytest.mark.parametrize(
    ("asked", "allowed"),
    [
        ("python:3.12", ["python:3.12"]),
        ("docker.io/library/python:3.12", ["python:3.12"]),
        ("python", ["python:latest"]),
        ("library/python:latest", ["docker.io/python"]),
        ("registry.example:5000/team/img", ["registry.example:5000/team/img:latest"]),
        ("img@sha256:" + "a" * 64, ["img@sha256:" + "a" * 64]),
    ],
)
def test_the_same_image_spelled_another_way_is_allowed(asked: str, allowed: list[str]) -> None:
    assert images.choose(asked, DEFAULT, [DEFAULT, *allowed]) == asked


@pytest.mark.parametrize(
    "asked",
    [
        "leaky:1",
        "steward-sandbox:0.1.1",  # another tag of the same repository is another image
        "steward-sandbox",  # :latest, not the allowed tag
        "evil.example/steward-sandbox:0.1.0",  # same name, another registry
        "steward-sandbox@sha256:" + "b" * 64,
        "sha256:" + "c" * 64,  # an image id chooses whatever image has it
    ],
)
def test_any_other_image_is_refused_naming_what_is_allowed_and_the_setting(asked: str) -> None:
    with pytest.raises(images.ImageRefusedError) as refused:
        images.choose(asked, DEFAULT, [DEFAULT])
    message = str(refused.value)
    assert f"`{asked}`" in message and f"`{DEFAULT}`" in message
    assert "setup.image" in message and "STEWARD_SANDBOX_IMAGES" in message


def test_the_allowlist_is_read_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEWARD_SANDBOX_IMAGES", '["py:3.12", "node:22"]')
    assert Settings().allowed_images == [Settings().sandbox_image, "py:3.12", "node:22"]


def test_the_configuration_lists_every_image_it_names() -> None:
    text = "setup: {image: a:1}\nworkflows:\n  tests: {image: b:2}\n"
    assert parse_config(text).config.images() == {"setup.image": "a:1", "workflows.tests.image": "b:2"}
    assert parse_config("").config.images() == {}


def test_validate_refuses_an_image_these_settings_do_not_allow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "steward.yml"
    path.write_text("setup: {image: 'leaky:1'}\nworkflows:\n  tests: {image: 'py:3.12'}\n")
    monkeypatch.setenv("STEWARD_SANDBOX_IMAGES", '["py:3.12"]')
    refused = runner.invoke(app, ["config", "validate", str(path)])
    assert refused.exit_code == 1
    assert f"{path}: setup.image: the sandbox image `leaky:1`" in refused.output
    assert "workflows.tests.image" not in refused.output and "1 error(s)" in refused.output
    monkeypatch.setenv("STEWARD_SANDBOX_IMAGES", '["leaky:1", "py:3.12"]')
    allowed = runner.invoke(app, ["config", "validate", str(path)])
    assert allowed.exit_code == 0, allowed.output
