"""The ledger's states, transitions and migrations, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from jobs.db import MIGRATIONS, make_engine, migrate
from jobs.ledger import (
    TERMINAL,
    TRANSITIONS,
    IllegalTransition,
    Ledger,
    NotRetryable,
    RunState,
    RunView,
    TransitionConflict,
)
from tests.postgres import db_url  # noqa: F401  (the fixture, parametrized over both databases)

pytestmark = pytest.mark.anyio
S = RunState
REPO = "octo/widgets"

# The shortest legal path from queued to every state.
PATH_TO: dict[RunState, list[RunState]] = {
    S.QUEUED: [],
    S.PLANNING: [S.PLANNING],
    S.AWAITING_APPROVAL: [S.PLANNING, S.AWAITING_APPROVAL],
    S.RUNNING: [S.PLANNING, S.RUNNING],
    S.PROPOSED: [S.PLANNING, S.RUNNING, S.PROPOSED],
    S.MERGED: [S.PLANNING, S.RUNNING, S.PROPOSED, S.MERGED],
    S.CLOSED: [S.PLANNING, S.RUNNING, S.PROPOSED, S.CLOSED],
    S.FAILED: [S.FAILED],
    S.CANCELLED: [S.CANCELLED],
}


@pytest.fixture
async def ledger(db_url: str) -> AsyncIterator[Ledger]:  # noqa: F811
    opened = await Ledger.connect(db_url)
    yield opened
    await opened.close()


async def run_in(ledger: Ledger, state: RunState, number: int = 7) -> RunView:
    run = await ledger.create_run(REPO, number, "docs", actor="alice", event="issue_comment")
    for step in PATH_TO[state]:
        run = await ledger.transition(run.id, step, actor="worker", reason=f"to {step}")
    assert run.state == state
    return run


async def test_migrations_apply_and_are_idempotent(db_url: str) -> None:  # noqa: F811
    engine = make_engine(db_url)
    try:
        await migrate(engine)
        await migrate(engine)
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    finally:
        await engine.dispose()
    assert {"runs", "run_transitions", "run_steps", "run_approvals", "run_proposals"} <= tables
    scripts = ScriptDirectory(str(MIGRATIONS))
    assert version == scripts.get_current_head()
    assert "0002" in {rev.revision for rev in scripts.walk_revisions()}


async def test_legal_path_end_to_end_records_every_transition(ledger: Ledger) -> None:
    run = await ledger.create_run(
        REPO,
        12,
        "docs",
        actor="alice",
        event="issue_comment",
        delivery_id="d-1",
        instructions="mention the CLI",
    )
    assert run.state is S.QUEUED and run.id.startswith("r-")
    path = [
        (S.PLANNING, "worker", "job started"),
        (S.AWAITING_APPROVAL, "worker", "plan posted"),
        (S.PLANNING, "worker", "default branch moved"),
        (S.AWAITING_APPROVAL, "worker", "plan remade"),
        (S.RUNNING, "bob", "approved"),
        (S.PROPOSED, "worker", "PR #13 opened"),
        (S.MERGED, "carol", "PR merged"),
    ]
    for to, actor, reason in path:
        run = await ledger.transition(run.id, to, actor=actor, reason=reason)
        assert run.state is to
    trace = await ledger.trace(run.id)
    moves = [(t.from_state, t.to_state, t.actor, t.reason) for t in trace.transitions]
    assert moves[0] == (None, S.QUEUED, "alice", "issue_comment by alice")
    expected_from = [S.QUEUED] + [to for to, _, _ in path[:-1]]
    assert moves[1:] == [(f, to, a, r) for f, (to, a, r) in zip(expected_from, path, strict=True)]
    assert all(a.at <= b.at for a, b in zip(trace.transitions, trace.transitions[1:], strict=False))
    assert trace.run.instructions == "mention the CLI" and trace.run.delivery_id == "d-1"


ILLEGAL = [(frm, to) for frm in S for to in S if to not in TRANSITIONS[frm]]


async def test_every_illegal_transition_is_refused_and_changes_nothing(ledger: Ledger) -> None:
    assert len(ILLEGAL) > 40  # the table is a small part of all pairs
    for number, frm in enumerate(S):
        run = await run_in(ledger, frm, number=100 + number)
        before = await ledger.trace(run.id)
        for to in (to for f, to in ILLEGAL if f == frm):
            with pytest.raises(IllegalTransition) as info:
                await ledger.transition(run.id, to, actor="mallory", reason="sneaky")
            assert info.value.current is frm and info.value.to is to
        after = await ledger.trace(run.id)
        assert after.run.state is frm
        assert after.transitions == before.transitions
        assert after.run.updated_at == before.run.updated_at


async def test_terminal_states_are_final_and_retry_makes_a_new_linked_run(ledger: Ledger) -> None:
    assert frozenset({S.MERGED, S.CLOSED, S.FAILED, S.CANCELLED}) == TERMINAL
    failed = await run_in(ledger, S.FAILED)
    retried = await ledger.retry(failed.id, actor="bob")
    assert retried.id != failed.id and retried.retry_of == failed.id and retried.state is S.QUEUED
    assert (await ledger.retry(failed.id, actor="bob")).id == retried.id  # a double /steward retry
    assert (await ledger.require_run(failed.id)).state is S.FAILED
    merged = await run_in(ledger, S.MERGED, number=8)
    with pytest.raises(NotRetryable):
        await ledger.retry(merged.id, actor="bob")


async def test_expected_state_guards_a_stale_caller(ledger: Ledger) -> None:
    run = await run_in(ledger, S.AWAITING_APPROVAL)
    await ledger.transition(run.id, S.RUNNING, actor="bob", expected=S.AWAITING_APPROVAL)
    # a second `/steward approve` saw awaiting_approval too: it must not move the run again
    with pytest.raises(TransitionConflict):
        await ledger.transition(run.id, S.RUNNING, actor="bob", expected=S.AWAITING_APPROVAL)
    assert len((await ledger.trace(run.id)).transitions) == 4


class StaleLedger(Ledger):
    """Reads the run once and keeps answering that, like a worker that read before another one wrote."""

    stale: RunView | None = None

    async def require_run(self, run_id: str) -> RunView:
        if self.stale is not None:
            view, self.stale = self.stale, None
            return view
        return await super().require_run(run_id)


async def test_the_update_itself_checks_the_state(ledger: Ledger, db_url: str) -> None:  # noqa: F811
    run = await run_in(ledger, S.RUNNING)
    stale = await StaleLedger.connect(db_url)
    try:
        stale.stale = await ledger.require_run(run.id)  # it saw `running` ...
        await ledger.transition(run.id, S.CANCELLED, actor="bob", reason="cancel")  # ... then this happened
        with pytest.raises(TransitionConflict) as info:
            await stale.transition(run.id, S.PROPOSED, actor="worker")
        assert info.value.current is S.CANCELLED
    finally:
        await stale.close()
    trace = await ledger.trace(run.id)
    assert trace.run.state is S.CANCELLED
    assert [t.to_state for t in trace.transitions][-1] is S.CANCELLED


async def test_concurrent_transitions_only_one_wins(ledger: Ledger, db_url: str) -> None:  # noqa: F811
    workers = [await Ledger.connect(db_url, run_migrations=False) for _ in range(4)]
    try:
        for number in range(5):
            run = await run_in(ledger, S.RUNNING, number=200 + number)
            results = await asyncio.gather(
                *(w.transition(run.id, S.PROPOSED, actor=f"worker-{i}") for i, w in enumerate(workers)),
                return_exceptions=True,
            )
            wins = [r for r in results if isinstance(r, RunView)]
            assert len(wins) == 1, results
            assert all(isinstance(r, IllegalTransition) for r in results if not isinstance(r, RunView))
            moves = [t for t in (await ledger.trace(run.id)).transitions if t.to_state is S.PROPOSED]
            assert len(moves) == 1
    finally:
        for w in workers:
            await w.close()
