"""A command is one record that names its handler: the edge reads records without the worker, and a command
added as one module (no list edited) shows in `/steward help` and reaches its handler through the worker."""

from __future__ import annotations

import copy
import inspect
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx

from app.commands import REGISTRY, handler_of, refusal_hook_of
from app.commands.record import CommandSpec
from app.commands.registry import Registry
from app.settings import Settings
from tests.conftest import load_payload
from tests.github_mock import API, FakeGitHub
from tests.worker_support import enqueue, run_burst

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
ISSUE = 1

EDGE = textwrap.dedent(
    """
    import json, sys

    def loaded(roots):
        return sorted(n for n in sys.modules if n.split(".")[0] in roots)

    from app.commands import REGISTRY, command_table_markdown, render_help

    specs = REGISTRY.specs()
    render_help()
    command_table_markdown()
    records = loaded({"jobs", "arq", "docker", "sandbox", "sqlalchemy", "alembic", "redis", "aiosqlite"})
    from app.config.cli import help_command
    from app.config.loader import parse_config

    help_command(markdown=True)  # `steward help`; the config checks load the policies (sandbox.limits)
    result = parse_config("commands:\\n  docs: {permission: read}\\n")
    config = loaded({"jobs", "arq", "docker", "sqlalchemy", "alembic", "redis", "aiosqlite"})
    print(json.dumps({"names": [s.name for s in specs], "errors": len(result.errors),
                      "records": records, "config": config}))
    """
)


def test_the_edge_reads_every_record_without_loading_the_worker() -> None:
    """Help, the README table and `steward config validate` need the records, never the handlers' code."""
    done = subprocess.run(
        [sys.executable, "-c", EDGE], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["names"] == sorted(s.name for s in REGISTRY.specs()) and "tests" in seen["names"]
    assert seen["errors"] == 1  # the floor check ran: docs may not be opened below write
    assert seen["records"] == []
    assert seen["config"] == []


def test_every_record_names_a_handler_that_the_worker_can_import() -> None:
    for spec in REGISTRY.specs():
        assert inspect.iscoroutinefunction(handler_of(spec)), spec.name
        hook = refusal_hook_of(spec)
        assert hook is None or inspect.iscoroutinefunction(hook), spec.name
    assert refusal_hook_of(REGISTRY.get("approve")) is not None  # type: ignore[arg-type]


def test_a_record_must_name_its_handler_as_module_and_function() -> None:
    with pytest.raises(ValueError, match="module:function"):
        CommandSpec("x", usage="x", permission="none", summary="x", handler="jobs.commands.docs.docs")


PLUGIN = '''
"""A command from outside Steward's own list: one module, its record and its handler."""
from app.commands.record import CommandSpec

COMMAND = CommandSpec(
    "ping",
    usage="ping [words]",
    permission="triage",
    summary="answers pong",
    examples=("/steward ping",),
    handler="steward_plugin_cmds.ping:answer",
)


async def answer(ctx):
    return f"pong {ctx.args} from a {'PR' if ctx.is_pull_request else 'issue'} for @{ctx.actor}"
'''


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CommandSpec]:
    """A package `steward_plugin_cmds` holding one command module, registered with Steward's registry."""
    package = tmp_path / "steward_plugin_cmds"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "ping.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    (spec,) = Registry(("steward_plugin_cmds",)).specs()  # found by discovery, as the builtin ones are
    REGISTRY.register(spec)
    try:
        yield spec
    finally:
        REGISTRY.unregister("ping")
        for name in ("steward_plugin_cmds.ping", "steward_plugin_cmds"):
            sys.modules.pop(name, None)


def test_a_module_without_a_record_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "steward_broken_cmds"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "oops.py").write_text("NAME = 'oops'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TypeError, match=r"steward_broken_cmds\.oops declares no COMMAND"):
        Registry(("steward_broken_cmds",)).specs()


def test_a_command_registered_twice_is_refused(plugin: CommandSpec) -> None:
    with pytest.raises(ValueError, match="twice"):
        REGISTRY.register(plugin)


@pytest.fixture
def github() -> FakeGitHub:
    return FakeGitHub()


@pytest.fixture
def api(github: FakeGitHub) -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        github.install(router)
        yield router


async def say(settings: Settings, body: str, comment_id: int, login: str = "octocat") -> None:
    event: dict[str, Any] = copy.deepcopy(load_payload("issue_comment", "created.with-installation"))
    event["comment"].update(body=body, id=comment_id)
    event["comment"]["user"]["login"] = login
    await enqueue(settings, "handle_comment", f"comment:x:{comment_id}", delivery_id="d-1", event=event)
    await run_burst(settings)


async def test_an_added_command_is_in_help_and_reaches_its_handler(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter, plugin: CommandSpec
) -> None:
    github.permissions["octocat"] = "triage"
    github.permissions["reader"] = "read"
    await say(settings, "/steward help", 1)
    await say(settings, "/steward ping hello there", 2)
    await say(settings, "/steward ping", 3, login="reader")
    helped, answered, refused = github.bot_comments(ISSUE)
    assert "| `/steward ping [words]` | triage | answers pong |" in helped
    assert "pong hello there from a issue for @octocat" in answered
    assert "`/steward ping` needs triage access to this repository; you have read." in refused
