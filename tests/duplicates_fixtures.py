"""Fixtures shared by the duplicate-triage tests (registered via `pytest_plugins` in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jobs.db import make_engine, migrate
from jobs.db import sessions as make_sessions
from jobs.duplicates import semantic
from jobs.duplicates.store import Sessions


@pytest.fixture
def lexical_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embeddings extra may be installed here; tests that use this pin lexical mode."""
    monkeypatch.setenv(semantic.FORCE_LEXICAL_ENV, "1")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Sessions]:
    """A real, migrated SQLite database for the index."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'steward.db'}")
    await migrate(engine)
    try:
        yield make_sessions(engine)
    finally:
        await engine.dispose()
