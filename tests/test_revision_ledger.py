"""The ledger's side of revisions (SQLite and PostgreSQL, migrated to head): the parent run is recorded and
shown, a retried revision stays one, and the open-PR noise limit counts pull requests, not runs in them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from jobs.ledger import Ledger, RunState
from jobs.ledger.render import render_timeline
from tests.postgres import db_url  # noqa: F401

pytestmark = pytest.mark.anyio
REPO = "Codertocat/Hello-World"
BRANCH = "steward/docs/7"


@pytest.fixture
async def ledger(db_url: str) -> AsyncIterator[Ledger]:  # noqa: F811
    opened = await Ledger.connect(db_url)
    yield opened
    await opened.close()


async def _proposed(ledger: Ledger, number: int, pr: int, **fields: object) -> str:
    run = await ledger.create_run(REPO, number, "docs", actor="maya", **fields)  # type: ignore[arg-type]
    for state in (RunState.PLANNING, RunState.RUNNING, RunState.PROPOSED):
        await ledger.transition(run.id, state, actor="steward")
    await ledger.record_proposal(run.id, BRANCH, "a" * 40, pr_number=pr)
    return run.id


async def test_a_revision_records_its_parent_and_a_retry_keeps_it(ledger: Ledger) -> None:
    parent = await _proposed(ledger, 7, 100)
    revision = await ledger.create_run(
        REPO, 100, "docs", actor="ada", event="/steward revise", revision_of=parent, branch=BRANCH
    )
    assert revision.revision_of == parent and revision.branch == BRANCH
    shown = render_timeline(await ledger.trace(revision.id))
    assert re.search(rf"^  revision of: +{parent}$", shown, re.MULTILINE), shown
    await ledger.transition(revision.id, RunState.FAILED, actor="steward")
    again = await ledger.retry(revision.id, actor="ada")
    assert again.retry_of == revision.id and again.revision_of == parent and again.branch == BRANCH
    plain = await ledger.create_run(REPO, 8, "docs", actor="maya")
    await ledger.transition(plain.id, RunState.FAILED, actor="steward")
    retried = await ledger.retry(plain.id, actor="maya")
    assert retried.revision_of is None and retried.branch is None


async def test_the_open_pull_request_limit_counts_a_revised_pull_request_once(ledger: Ledger) -> None:
    parent = await _proposed(ledger, 7, 100)
    await _proposed(ledger, 100, 100, revision_of=parent)
    await _proposed(ledger, 9, 101)
    assert (await ledger.noise_counts(REPO)).open_proposed == 2
