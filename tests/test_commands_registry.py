"""Command records: help and the README table come from them; authorisation, refusals, named handlers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.commands import (
    REGISTRY,
    CommandContext,
    authorize,
    command_table_markdown,
    effective_permission,
    handler_of,
    refusal_text,
    render_help,
)
from app.config.loader import parse_config
from app.config.model import CommandsConfig, RepoConfig
from app.github.protocol import PERMISSION_LEVELS, RepoId
from jobs.db import make_engine, migrate, sessions
from jobs.ledger import Ledger, RunState

pytestmark = pytest.mark.anyio

DESIGN_TABLE = {
    "help": "none",
    "status": "none",
    "duplicates": "triage",
    "not-duplicate": "triage",
    "docs": "write",
    "tests": "write",
    "approve": "maintain",
    "cancel": "write",
    "retry": "write",
    "revise": "write",
}
REPO = RepoId("Codertocat", "Hello-World")


def spec(name: str) -> Any:
    found = REGISTRY.get(name)
    assert found is not None, name
    return found


def context(config: RepoConfig | None = None, **kw: Any) -> CommandContext:
    values: dict[str, Any] = {
        "gh": None,
        "repo": REPO,
        "number": 7,
        "is_pull_request": False,
        "actor": "octocat",
        "args": "",
        "config": config or RepoConfig(),
    }
    values.update(kw)
    return CommandContext(**values)


def test_the_registry_holds_the_designed_commands_with_their_default_roles() -> None:
    assert {s.name: s.permission for s in REGISTRY.specs()} == DESIGN_TABLE


def test_every_command_can_be_configured_and_every_override_is_a_command() -> None:
    fields = {info.alias or name for name, info in CommandsConfig.model_fields.items()}
    assert fields == set(DESIGN_TABLE)


@pytest.mark.parametrize("name", list(DESIGN_TABLE))
@pytest.mark.parametrize("role", PERMISSION_LEVELS)
def test_authorize_refuses_below_the_level(name: str, role: str) -> None:
    needed = PERMISSION_LEVELS.index(DESIGN_TABLE[name])
    assert authorize(spec(name), role) is (PERMISSION_LEVELS.index(role) >= needed)


def test_unknown_roles_rank_as_none() -> None:
    assert not authorize(spec("duplicates"), "owner")
    assert authorize(spec("help"), "owner")


def test_refusal_names_the_level_needed_and_the_one_held() -> None:
    assert refusal_text(spec("docs"), "octocat", "read") == (
        "@octocat, `/steward docs` needs write access to this repository; you have read."
    )
    bot = RepoConfig(prefix="/bot", commands={"duplicates": {"permission": "maintain"}})
    text = refusal_text(spec("duplicates"), "hubot", "none", bot)
    assert (
        text == "@hubot, `/bot duplicates` needs maintain access to this repository; you have no role here."
    )


def test_config_overrides_permission_but_never_below_the_floor() -> None:
    config = parse_config(
        "commands:\n  duplicates: {permission: read}\n  approve: {permission: admin}\n"
    ).config
    assert effective_permission(spec("duplicates"), config) == "read"
    assert authorize(spec("duplicates"), "read", config)
    assert not authorize(spec("approve"), "maintain", config)
    opened = RepoConfig(commands={"docs": {"permission": "none"}})  # rejected by parse_config; still floored
    assert effective_permission(spec("docs"), opened) == "write"
    assert not authorize(spec("docs"), "read", opened)


def test_help_lists_allowed_commands_with_who_and_prefix() -> None:
    config = parse_config(
        "prefix: /bot\n"
        "commands:\n  tests: {enabled: false}\n  duplicates: {permission: write}\n"
        "workflows:\n  docs: {enabled: false}\n"
    ).config
    text = render_help(config)
    assert "| `/bot help` | anyone |" in text
    assert "| `/bot duplicates` | write |" in text
    assert "/bot tests" not in text and "/bot docs" not in text  # disabled command, disabled workflow
    assert "`/steward " not in text
    for s in REGISTRY.specs():
        if s.name not in ("tests", "docs"):
            assert f"`/bot {s.usage}`" in text
            assert s.summary in text


def test_help_for_an_unknown_command_says_so() -> None:
    text = render_help(RepoConfig(), unknown="frobnicate")
    assert text.startswith("`/steward frobnicate` is not a command I know.")
    assert "| `/steward status` |" in text


def test_readme_table_has_every_command_and_example() -> None:
    table = command_table_markdown()
    rows = [line for line in table.splitlines() if line.startswith("| `/steward")]
    assert len(rows) == len(DESIGN_TABLE)
    assert "`/steward docs mention the new --json flag`" in table
    assert "| `/steward approve` | where a plan waits | maintain |" in table


def test_no_command_is_offered_as_not_yet_available() -> None:
    """Every declared command is built: neither the README nor `/steward help` hedges any of them."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for text in (command_table_markdown(), render_help(RepoConfig()), readme):
        assert "not yet available" not in text
    assert "| plans and proposes tests, for the files named or those the pull request changes |" in readme


async def test_help_handler_answers_with_the_help_text() -> None:
    reply = await handler_of(spec("help"))(context(RepoConfig(prefix="/bot")))
    assert reply == render_help(RepoConfig(prefix="/bot"))


async def test_status_lists_the_runs_here_from_the_ledger(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")
    await migrate(engine)
    maker = sessions(engine)
    ledger = Ledger(maker)
    first = await ledger.create_run(REPO.full_name, 7, "docs", actor="octocat")
    await ledger.transition(first.id, RunState.FAILED, actor="worker", reason="boom")
    second = await ledger.create_run(REPO.full_name, 7, "tests", actor="octocat")
    await ledger.create_run(REPO.full_name, 8, "docs", actor="octocat")  # another issue
    await ledger.create_run("someone/else", 7, "docs", actor="octocat")  # another repository
    try:
        reply = await handler_of(spec("status"))(context(sessions=maker))
    finally:
        await engine.dispose()
    assert reply is not None
    rows = [line for line in reply.splitlines() if line.startswith("| `r-")]
    assert len(rows) == 2
    assert rows[0].startswith(f"| `{second.id}` | tests | queued |")  # newest first
    assert rows[1].startswith(f"| `{first.id}` | docs | failed |")
    assert "s wall" in rows[0]


async def test_status_without_runs_or_without_a_ledger(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    await migrate(engine)
    try:
        reply = await handler_of(spec("status"))(
            context(RepoConfig(prefix="/bot"), sessions=sessions(engine))
        )
    finally:
        await engine.dispose()
    assert reply == "No Steward runs on this one yet. `/bot help` lists what I can do."
    without = await handler_of(spec("status"))(context())
    assert without is not None and "not connected" in without


def test_help_never_echoes_a_mention_or_a_backtick() -> None:
    text = render_help(RepoConfig(), unknown="`@org/admins`")
    first = text.splitlines()[0]
    assert "@" not in first and first.count("`") == 2
