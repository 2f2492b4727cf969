"""`steward config diff BASE HEAD`: what a change to .github/steward.yml lets happen, before and after."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.config.loader import parse_config
from app.config.model import RepoConfig
from app.config.simulate import diff, simulate

runner = CliRunner()


def _pair(tmp_path: Path, base: str, head: str) -> tuple[Path, Path]:
    (tmp_path / "base.yml").write_text(base)
    (tmp_path / "head.yml").write_text(head)
    return tmp_path / "base.yml", tmp_path / "head.yml"


def _config(text: str) -> RepoConfig:
    result = parse_config(text)
    assert not result.errors, result.errors
    return result.config


def test_a_widened_role_is_listed_and_called_wider(tmp_path: Path) -> None:
    base, head = _pair(
        tmp_path, "commands:\n  docs: {permission: maintain}\n", "commands:\n  docs: {permission: write}\n"
    )
    result = runner.invoke(app, ["config", "diff", str(base), str(head)])
    assert result.exit_code == 0, result.output
    assert "1 change(s)" in result.output
    assert "commands.docs: maintain and above -> write and above (more people may run it)" in result.output


def test_a_disabled_command_is_off_and_fewer_may_run_it() -> None:
    changes = diff(RepoConfig(), _config("commands:\n  tests: {enabled: false}\n"))
    assert [(c.key, c.before, c.after, c.note) for c in changes] == [
        ("commands.tests", "write and above", "off", "fewer people may run it")
    ]


def test_a_disabled_workflow_turns_its_command_off_too() -> None:
    keys = {c.key: c.after for c in diff(RepoConfig(), _config("workflows:\n  docs: {enabled: false}\n"))}
    assert keys == {"commands.docs": "off", "workflows.docs.enabled": "off"}


def test_a_narrowed_path_shows_the_effective_globs(tmp_path: Path) -> None:
    base, head = _pair(tmp_path, "", "workflows:\n  docs:\n    paths: ['docs/**']\n")
    result = runner.invoke(app, ["config", "diff", str(base), str(head)])
    assert result.exit_code == 0, result.output
    default = ", ".join(simulate(RepoConfig())["workflows.docs.paths"].split(", "))
    assert f"workflows.docs.paths: {default} -> docs/**" in result.output


def test_limits_budget_approval_and_noise_show_as_they_take_effect() -> None:
    head = _config(
        "workflows:\n  tests:\n    limits: {memory: 512m, command_timeout: 90s}\n"
        "    budget: {cost: 0.5}\n    approval: {level: admin}\n    engine: agent\n"
        "noise: {runs_per_day: 3}\n"
    )
    rows = {c.key: (c.before, c.after) for c in diff(RepoConfig(), head)}
    assert rows["workflows.tests.limits.memory"] == ("2 GiB", "512 MiB")
    assert rows["workflows.tests.limits.command_timeout"] == ("10 min", "1 min 30 s")
    assert rows["workflows.tests.budget.cost"] == ("2", "0.5")
    assert rows["workflows.tests.approval"] == (
        "required, by maintain and above",
        "required, by admin and above",
    )
    assert rows["workflows.tests.engine"] == ("builtin", "agent")
    assert rows["noise.runs_per_day"] == ("20", "3")
    assert len(rows) == 6


def test_a_setting_that_changes_nothing_lists_nothing(tmp_path: Path) -> None:
    # Lowering a limit to the policy's own value, and writing a default out, change nothing that takes effect.
    base, head = _pair(tmp_path, "prefix: /steward\n", "workflows:\n  docs:\n    limits: {memory: 1g}\n")
    result = runner.invoke(app, ["config", "diff", str(base), str(head)])
    assert result.exit_code == 0, result.output
    assert "no change in what Steward may do" in result.output


@pytest.mark.parametrize(
    ("head", "fragment"),
    [
        ("workflows:\n  docs:\n    paths: ['src/**']\n", "workflows.docs.paths.0: `src/**` is outside"),
        ("commands:\n  docs: {permission: read}\n", "commands.docs.permission"),
        ("noise: {runs_per_day: -1}\n", "noise.runs_per_day"),
        ("a: [b\n", "invalid YAML"),
    ],
)
def test_an_invalid_head_exits_1_with_its_errors(tmp_path: Path, head: str, fragment: str) -> None:
    base, head_path = _pair(tmp_path, "", head)
    result = runner.invoke(app, ["config", "diff", str(base), str(head_path)])
    assert result.exit_code == 1
    assert fragment in result.output
    assert "run no workflow that writes" in result.output


def test_an_invalid_base_is_noted_and_compared_as_read(tmp_path: Path) -> None:
    base, head = _pair(tmp_path, "noise: {runs_per_day: -1}\n", "noise: {runs_per_day: 4}\n")
    result = runner.invoke(app, ["config", "diff", str(base), str(head)])
    assert result.exit_code == 0, result.output
    assert "note:" in result.output and "noise.runs_per_day" in result.output
    assert "noise.runs_per_day: 20 -> 4" in result.output


def test_an_unreadable_file_exits_1(tmp_path: Path) -> None:
    (tmp_path / "head.yml").write_text("")
    result = runner.invoke(app, ["config", "diff", str(tmp_path / "missing.yml"), str(tmp_path / "head.yml")])
    assert result.exit_code == 1
    assert "cannot read" in result.output


def test_every_setting_of_the_model_has_a_row() -> None:
    """A new setting that takes effect must show in the simulation (or a change to it would pass unseen)."""
    rows = simulate(RepoConfig())
    for workflow, model in RepoConfig.model_fields["workflows"].annotation.model_fields.items():  # type: ignore[union-attr]
        for name in model.annotation.model_fields:  # type: ignore[union-attr]
            if name == "limits":
                assert any(key.startswith(f"workflows.{workflow}.limits.") for key in rows)
            elif name == "budget":
                assert any(key.startswith(f"workflows.{workflow}.budget.") for key in rows)
            else:
                assert f"workflows.{workflow}.{name}" in rows, name
    for name in RepoConfig.model_fields["noise"].annotation.model_fields:  # type: ignore[union-attr]
        assert f"noise.{name}" in rows


def test_turning_the_weekly_digest_on_shows_when_and_where() -> None:
    head = _config(
        "digest: {enabled: true, day: friday, hour: 7, timezone: Europe/Paris, discussion: Weekly}\n"
    )
    changes = diff(RepoConfig(), head)
    assert [(c.key, c.before, c.after) for c in changes] == [
        ("digest", "off", "friday 07:00 Europe/Paris, Discussion in 'Weekly'")
    ]
    assert simulate(_config("digest: {enabled: true}\n"))["digest"] == "monday 09:00 UTC, issue"
