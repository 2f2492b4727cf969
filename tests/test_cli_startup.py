"""The command line starts fast (no heavy imports), lists every command, and its switches take no value."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
import typer
import typer.main
from typer.core import TyperGroup
from typer.testing import CliRunner

from app import __version__
from app.cli import COMMANDS, app, area

HEAVY = ("sqlalchemy", "alembic", "githubkit", "docker", "fastapi", "arq", "pydantic_settings", "rich",
         "opentelemetry", "prometheus_client")  # fmt: skip
LIGHT_MODULES = ("app.cli", "jobs.cli", "jobs.local", "jobs.ledger.cli", "jobs.shadow.cli", "sandbox.cli")


@pytest.mark.parametrize("module", LIGHT_MODULES)
def test_importing_the_command_line_loads_no_heavy_library(module: str) -> None:
    found = f"sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})"
    code = f"import sys, {module}; print(' '.join({found}))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout.strip() == ""


AGENT_LIBRARIES = ("pydantic_ai", "mcp", "fastmcp", "openai", "anthropic")


@pytest.mark.parametrize("module", ["jobs.worker", "app.web.app", "jobs.runs.work"])
def test_the_worker_and_the_web_app_load_the_agent_libraries_only_when_an_agent_works(module: str) -> None:
    found = f"sorted(m for m in sys.modules if m.split('.')[0] in {AGENT_LIBRARIES!r})"
    code = f"import sys, {module}; print(' '.join({found}))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == ""


def test_help_and_version_answer_without_loading_any_area() -> None:
    code = (
        "import sys\nfrom app.cli import main\nsys.argv = ['steward', sys.argv[1]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in ('jobs', 'sandbox')))"
    )
    for flag in ("--help", "--version"):
        done = subprocess.run(
            [sys.executable, "-c", code, flag], capture_output=True, text=True, timeout=30, check=True
        )
        assert done.stdout.rstrip().endswith("LOADED []"), done.stdout
    assert f"steward {__version__}" in CliRunner().invoke(app, ["--version"]).output


def _every_area() -> TyperGroup:
    full = typer.Typer()
    for module in dict.fromkeys(module for module, _ in COMMANDS.values()):
        importlib.import_module(module).register(full)
    return typer.main.get_group(full)


def test_the_command_table_matches_the_commands_the_areas_register() -> None:
    real = _every_area().commands
    assert sorted(real) == sorted(COMMANDS)
    for name, (_, summary) in COMMANDS.items():
        assert (real[name].help or "").splitlines()[0] == summary, name
    listed = CliRunner().invoke(app, ["--help"]).output
    assert all(f"  {name} " in listed for name in COMMANDS)


def _walk(command: object, path: list[str]) -> list[tuple[list[str], object]]:
    found = [(path, command)]
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            found += _walk(sub, [*path, name])
    return found


def _all_commands() -> list[tuple[list[str], object]]:
    found = []
    for name, (module, _) in COMMANDS.items():
        found += _walk(area(module).commands[name], [name])
    return found


def test_no_help_shows_a_bool_metavar_and_every_bool_is_a_switch() -> None:
    runner = CliRunner()
    switches = 0
    for path, command in _all_commands():
        text = runner.invoke(app, [*path, "--help"]).output
        assert "<bool>" not in text and "╭" not in text, (path, text)
        for param in getattr(command, "params", []):
            if getattr(param, "is_bool_flag", False) or isinstance(getattr(param, "default", None), bool):
                assert param.is_flag and param.metavar is None, (path, param.name)
                switches += 1
    assert switches >= 4  # --markdown, --burst, --json, --yes...


def test_a_switch_takes_no_value() -> None:
    result = CliRunner().invoke(app, ["help", "--markdown", "true"])
    assert result.exit_code == 2 and "unexpected extra argument" in result.output.lower()
    assert CliRunner().invoke(app, ["help", "--markdown"]).exit_code == 0
