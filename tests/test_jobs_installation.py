"""sync_installation from real installation payloads, through a real worker into a real SQLite ledger."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select

from app.events import InstallationEvent, InstallationRepositoriesEvent
from app.settings import Settings
from jobs.db import make_engine, migrate, sessions
from jobs.handlers.installation import sync_installation
from jobs.models import InstallationRow, RepositoryRow
from tests.conftest import load_payload
from tests.github_mock import API, FakeGitHub
from tests.worker_support import enqueue, run_burst

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def github() -> Iterator[respx.MockRouter]:
    """Added repositories queue an index backfill, which the same burst runs: their histories are empty."""
    with respx.mock(base_url=API, assert_all_called=False) as router:
        FakeGitHub().install(router)
        router.get(path__regex=r"^/repos/[^/]+/[^/]+/issues$", name="issues").mock(
            return_value=httpx.Response(200, json=[])
        )
        yield router


async def deliver(settings: Settings, event_name: str, name: str, delivery: str) -> None:
    raw = load_payload(event_name, name)
    model = InstallationEvent if event_name == "installation" else InstallationRepositoriesEvent
    event = model.model_validate(raw).model_dump(mode="json")  # exactly what the receiver enqueues
    await enqueue(
        settings,
        "sync_installation",
        f"installation:{delivery}",
        delivery_id=delivery,
        event_name=event_name,
        event=event,
    )
    worker = await run_burst(settings)
    assert worker.jobs_failed == 0


async def rows(settings: Settings) -> tuple[dict[int, tuple[str, bool]], dict[int, tuple[int, str, bool]]]:
    engine = make_engine(settings.db_url)
    try:
        async with sessions(engine)() as session:
            insts = {r.id: (r.account, r.active) for r in await session.scalars(select(InstallationRow))}
            repos = {
                r.id: (r.installation_id, r.full_name, r.active)
                for r in await session.scalars(select(RepositoryRow))
            }
    finally:
        await engine.dispose()
    return insts, repos


async def test_created_then_repositories_added_and_removed(settings: Settings) -> None:
    await deliver(settings, "installation", "created", "d1")
    insts, repos = await rows(settings)
    assert insts == {957387: ("Codertocat", True)}
    assert repos == {186853002: (957387, "Codertocat/Hello-World", True)}

    await deliver(settings, "installation_repositories", "added", "d2")
    _, repos = await rows(settings)
    assert {name for _, name, active in repos.values() if active} == {
        "Codertocat/Hello-World",
        "Codertocat/Space",
    }

    await deliver(settings, "installation_repositories", "removed", "d3")  # another installation (id 2)
    insts, repos = await rows(settings)
    assert insts[2] == ("octocat", True)
    assert [(i, n, a) for i, n, a in repos.values() if n == "octocat/Hello-World"] == [
        (2, "octocat/Hello-World", False)
    ]


async def test_suspend_unsuspend_and_delete(settings: Settings) -> None:
    await deliver(settings, "installation", "suspend", "s1")
    assert (await rows(settings))[0] == {16598467: ("Codertocat", False)}
    await deliver(settings, "installation", "unsuspend", "s2")
    assert (await rows(settings))[0] == {16598467: ("Codertocat", True)}

    await deliver(settings, "installation", "deleted", "s3")
    insts, repos = await rows(settings)
    assert insts[2] == ("octocat", False)
    assert all(not active for inst, _, active in repos.values() if inst == 2) and repos


async def test_replaying_a_delivery_changes_nothing(settings: Settings) -> None:
    await deliver(settings, "installation", "created", "r1")
    first = await rows(settings)
    await deliver(settings, "installation", "created", "r2")  # a redelivery under a new id
    await deliver(settings, "installation", "new_permissions_accepted", "r3")
    assert await rows(settings) == first


async def test_an_unexpected_event_name_is_ignored(settings: Settings) -> None:
    engine = make_engine(settings.db_url)
    await migrate(engine)
    ctx: dict[str, Any] = {"sessions": sessions(engine)}
    try:
        assert await sync_installation(ctx, "x", "push", {"installation": {"id": 1}}) == "ignored event push"
    finally:
        await engine.dispose()
    assert await rows(settings) == ({}, {})
