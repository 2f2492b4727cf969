"""A ledger run per triaged delivery, closed at once with what triage did, so `/steward status` shows it."""

from __future__ import annotations

from jobs.duplicates.store import Sessions
from jobs.ledger import Ledger, RunState, roles

WORKFLOW = "duplicates"
ACTOR = "steward"
IDEMPOTENCY_PREFIX = "triage"
ANSWERED_NOTE = "the comment says none was found"
"""Ends the outcome of a triage that answered (a command, or an earlier suggestion replaced by "none")."""
_PATH = (RunState.QUEUED, RunState.PLANNING, RunState.RUNNING, RunState.CLOSED)
"""The legal way from queued to closed (jobs/ledger/states.py); triage has no approval step."""


async def record_triage(
    sessions: Sessions,
    repo: str,
    number: int,
    delivery_id: str,
    installation_id: int | None,
    outcome: str,
    *,
    event: str = "opened",
    actor: str = ACTOR,
    actor_role: str = roles.AUTOMATIC,
    mode: str = "normal",
) -> str:
    """Create (or find again, on a retried delivery) the run and close it with the outcome as the reason.

    `event`: "opened" for triage on a new item (nobody asked: the role is `automatic`), "command" for
    `/steward duplicates` (`actor`, `actor_role`: who asked); `mode`: "shadow" when triage only recorded
    its suggestion.
    """
    ledger = Ledger(sessions)
    run = await ledger.create_run(
        repo,
        number,
        WORKFLOW,
        actor=actor,
        actor_role=actor_role,
        event=event,
        delivery_id=delivery_id,
        idempotency_key=f"{IDEMPOTENCY_PREFIX}:{delivery_id}",
        installation_id=installation_id,
        mode=mode,
    )
    done = _PATH.index(run.state) if run.state in _PATH else len(_PATH) - 1  # a retried job resumes
    for state in _PATH[done + 1 :]:
        run = await ledger.transition(run.id, state, actor=ACTOR, reason=outcome)
    return run.id


async def triaged_before(sessions: Sessions, repo: str, number: int) -> bool:
    """Whether triage ever ran on this item: if not, Steward cannot have a duplicates comment there."""
    return await Ledger(sessions).has_run(repo, number, WORKFLOW)
