"""Who asked for a run, with their role: recorded on every way a run starts, shown by `runs show` and the
dashboard, on SQLite and PostgreSQL; runs recorded before migration 0012 say the role was not recorded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import respx
from alembic import command
from sqlalchemy import text
from starlette.testclient import TestClient
from typer.testing import CliRunner

from app.cli import app
from app.settings import Settings
from app.web.app import create_app
from jobs.db import _alembic_config, make_engine, migrate, sessions
from jobs.duplicates.record import record_triage
from jobs.ledger import Ledger, RunState, roles
from jobs.ledger.render import render_timeline
from tests.dashboard_support import TOKEN, dashboard_settings
from tests.postgres import db_url  # noqa: F401  (the fixture, parametrized over both databases)
from tests.run_fixtures import MAINTAINER, WRITER, FakeRunGitHub, runs, say, trace_of

pytestmark = pytest.mark.anyio
BEARER = {"authorization": f"Bearer {TOKEN}"}


async def test_a_command_records_the_commenters_role_and_a_retry_the_retriers(
    settings: Settings, github: FakeRunGitHub, api: respx.MockRouter
) -> None:
    await say(settings, "/steward docs", MAINTAINER, 6101)
    (first,) = await runs(settings)
    assert (first.actor, first.actor_role) == (MAINTAINER, "maintain")  # from GitHub's role_name
    await say(settings, "/steward cancel", WRITER, 6102)
    await say(settings, "/steward retry", WRITER, 6103)
    newest, old = await runs(settings)
    assert newest.retry_of == old.id
    assert (newest.actor, newest.actor_role) == (WRITER, "write")
    assert old.actor_role == "maintain"  # the first run keeps its own requester
    shown = render_timeline(await trace_of(settings, first.id))
    assert f"triggered by: {MAINTAINER} (maintain) via /steward docs" in " ".join(shown.split())


async def test_a_triage_command_records_the_role_and_triage_on_open_says_it_was_automatic(
    db_url: str,  # noqa: F811
) -> None:
    ledger = await Ledger.connect(db_url)
    engine = make_engine(db_url)
    try:
        made = sessions(engine)
        opened = await record_triage(made, "octo/widgets", 5, "d-5", 1, "no candidate passed")
        asked = await record_triage(made, "octo/widgets", 6, "d-6", 1, "suggested #2 (0.8)",
                                    event="command", actor="tom", actor_role="triage")  # fmt: skip
        auto, person = await ledger.require_run(opened), await ledger.require_run(asked)
        assert (auto.actor, auto.actor_role, auto.event) == ("steward", roles.AUTOMATIC, "opened")
        assert roles.requester(auto) == "steward (automatic: opened)"
        assert (person.actor_role, roles.requester(person)) == ("triage", "tom (triage)")
        run = await ledger.create_run("octo/widgets", 7, "docs", actor="ann", actor_role="admin")
        await ledger.transition(run.id, RunState.CANCELLED, actor="ann")
        again = await ledger.retry(run.id, actor="bo (dashboard)", actor_role=roles.DASHBOARD)
        assert (await ledger.require_run(run.id)).actor_role == "admin"
        assert roles.requester(again) == "bo (dashboard operator)"
    finally:
        await engine.dispose()
        await ledger.close()


OLD_RUN = (
    "INSERT INTO runs (id, repo, number, workflow, state, engine, actor, event, policy, limits, instructions,"
    " paths, tool_calls, model_tokens, cost_usd, cpu_seconds, wall_seconds, created_at, updated_at) VALUES"
    " ('r-old', 'octo/widgets', 8, 'docs', 'queued', 'builtin', 'old', '/steward docs', '{}', '{}', '',"
    " '[]', 0, 0, 0, 0, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
)


def test_runs_from_before_0012_say_the_role_was_not_recorded(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"

    async def upgraded_over_an_old_run() -> None:
        engine = make_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(lambda c: command.upgrade(_alembic_config(c), "0011"))
                await conn.execute(text(OLD_RUN))
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(upgraded_over_an_old_run())
    out = CliRunner().invoke(app, ["runs", "show", "r-old"], env={"STEWARD_DATABASE_URL": url}).output
    assert "old (role not recorded) via /steward docs" in " ".join(out.split())


def test_runs_show_and_the_dashboard_say_who_asked_with_the_role(settings: Settings) -> None:
    async def made() -> str:
        ledger = await Ledger.connect(settings.db_url)
        try:
            run = await ledger.create_run("octo/widgets", 9, "tests", actor="mia", actor_role="maintain",
                                          event="/steward tests")  # fmt: skip
            return run.id
        finally:
            await ledger.close()

    run_id = asyncio.run(made())
    out = CliRunner().invoke(app, ["runs", "show", run_id], env={"STEWARD_DATABASE_URL": settings.db_url})
    assert "mia (maintain) via /steward tests" in " ".join(out.output.split())
    shown = CliRunner().invoke(
        app, ["runs", "show", run_id, "--json"], env={"STEWARD_DATABASE_URL": settings.db_url}
    )
    assert '"actor_role": "maintain"' in shown.output
    with TestClient(create_app(dashboard_settings(settings)).api) as c:
        page = c.get(f"/dashboard/runs/{run_id}", headers={**BEARER, "accept": "text/html"})
        assert page.status_code == 200
        assert 'id="asked-by">mia (maintain) via /steward tests<' in page.text
