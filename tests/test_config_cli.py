"""`steward config validate | schema | docs` and `steward help`, and the generated files CI keeps in step."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.config.model import RepoConfig
from app.config.reference import render_reference, render_schema

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def test_validate_accepts_a_good_file(tmp_path: Path) -> None:
    good = tmp_path / "steward.yml"
    good.write_text("prefix: /bot\nworkflows:\n  duplicates: {threshold: 0.8}\n")
    result = runner.invoke(app, ["config", "validate", str(good)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_validate_reports_field_and_line_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "steward.yml"
    bad.write_text("prefix: /bot\nworkflows:\n  docs:\n    paths: ['src/**']\n  duplicates: {treshold: 2}\n")
    result = runner.invoke(app, ["config", "validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:5: workflows.duplicates.treshold: unknown key" in result.output
    assert "1 error(s)" in result.output


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"a: [b\n", "invalid YAML"), (b"\xff\xfe", "not UTF-8"), (None, "cannot read")],
)
def test_validate_unreadable_or_broken_files_exit_1(
    tmp_path: Path, content: bytes | None, fragment: str
) -> None:
    path = tmp_path / "steward.yml"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 1
    assert fragment in result.output


def test_the_installed_command_exits_with_the_same_codes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("noise: {runs_per_day: -3}\n")
    steward = Path(sys.executable).parent / "steward"
    proc = subprocess.run([str(steward), "config", "validate", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1 and "noise.runs_per_day" in proc.stderr
    bad.write_text("noise: {runs_per_day: 3}\n")
    proc = subprocess.run([str(steward), "config", "validate", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_schema_is_json_describing_every_field() -> None:
    result = runner.invoke(app, ["config", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(RepoConfig.model_fields)
    # attribute docstrings reach the schema, down to nested models
    assert schema["properties"]["prefix"]["description"].startswith("The command prefix")
    threshold = schema["$defs"]["DuplicatesConfig"]["properties"]["threshold"]
    assert threshold["maximum"] == 1.0 and "description" in threshold
    assert "not-duplicate" in schema["$defs"]["CommandsConfig"]["properties"]


def test_every_field_has_a_docstring() -> None:
    def walk(model: type, path: str) -> list[str]:
        missing = []
        for name, info in model.model_fields.items():  # type: ignore[attr-defined]
            if not info.description:
                missing.append(f"{path}{name}")
            annotation = info.annotation
            if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
                missing += walk(annotation, f"{path}{name}.")
        return missing

    assert walk(RepoConfig, "") == []


def test_docs_print_the_reference() -> None:
    result = runner.invoke(app, ["config", "docs"])
    assert result.exit_code == 0
    assert result.output == render_reference()
    assert "| `threshold` | number | `0.5` |" in result.output


@pytest.mark.parametrize(
    ("path", "render", "command"),
    [
        ("schema/steward.schema.json", render_schema, "schema"),
        ("docs/configuration.md", render_reference, "docs"),
    ],
)
def test_committed_generated_files_match_the_model(
    path: str, render: Callable[[], str], command: str
) -> None:
    """CI fails here when the model changed and the generated files were not regenerated."""
    committed = (ROOT / path).read_text()
    assert committed == render(), f"{path} is stale: run `steward config {command} > {path}`"


def test_help_prints_the_command_table() -> None:
    plain = runner.invoke(app, ["help"])
    assert plain.exit_code == 0
    assert "/steward docs [instructions]" in plain.output and "write" in plain.output
    markdown = runner.invoke(app, ["help", "--markdown"])
    assert markdown.exit_code == 0
    assert markdown.output.startswith("| command | where | who (default) | does | example |")
