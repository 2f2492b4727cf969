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
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{bad}:4: workflows.docs.paths.0: `src/**` is outside")  # policy, found too
    assert lines[1].startswith(f"{bad}:5: workflows.duplicates.treshold: unknown key")
    assert lines[2] == "2 error(s)"


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
    assert threshold["anyOf"][0]["maximum"] == 1.0 and "description" in threshold
    assert threshold["default"] is None  # unset: the retrieval mode's own default
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
    assert "| `threshold` | number or null | `null` | Calibrated score" in result.output


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


def test_validate_reports_type_and_policy_errors_in_one_pass_sorted_by_line(tmp_path: Path) -> None:
    """Policy problems used to appear only once the type errors were fixed; sizes came out as raw bytes."""
    bad = tmp_path / "steward.yml"
    bad.write_text(
        "prefix: steward\n"  # 1: pattern
        "noise: {runs_per_day: lots}\n"  # 2: type
        "workflows:\n"
        "  tests:\n"
        "    limits:\n"
        "      memory: 64g\n"  # 6: above the policy, in units
        "      run_timeout: 9000\n"  # 7: above the policy, in units
        "      output_bytes: 0k\n"  # 8: type
        "    approval: {level: read}\n"  # 9: policy
        "commands:\n"
        "  docs: {permission: read}\n"  # 11: policy
        "  tests: {permisson: write}\n"  # 12: typo
    )
    result = runner.invoke(app, ["config", "validate", str(bad)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert [line.split(": ", 2)[:2] for line in lines[:-1]] == [
        [f"{bad}:1", "prefix"],
        [f"{bad}:2", "noise.runs_per_day"],
        [f"{bad}:6", "workflows.tests.limits.memory"],
        [f"{bad}:7", "workflows.tests.limits.run_timeout"],
        [f"{bad}:8", "workflows.tests.limits.output_bytes"],
        [f"{bad}:9", "workflows.tests.approval.level"],
        [f"{bad}:11", "commands.docs.permission"],
        [f"{bad}:12", "commands.tests.permisson"],
    ]
    assert lines[-1] == "8 error(s)"
    text = result.output
    assert "64 GiB is above the tests policy's 2 GiB" in text
    assert "2 h 30 min is above the tests policy's 45 min" in text
    assert "68719476736" not in text and "2147483648" not in text
    assert "must be `/` then a letter, then up to 31 letters" in text and "[A-Za-z]" not in text
