"""A run's states and the one table of moves between them; anything not in the table is refused."""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    """Where a run stands (DESIGN.md, "Run states")."""

    QUEUED = "queued"
    PLANNING = "planning"
    AWAITING_APPROVAL = "awaiting_approval"
    RUNNING = "running"
    PROPOSED = "proposed"
    MERGED = "merged"
    CLOSED = "closed"
    FAILED = "failed"
    CANCELLED = "cancelled"


S = RunState
_ABORT = frozenset({S.FAILED, S.CANCELLED})

TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    S.QUEUED: frozenset({S.PLANNING}) | _ABORT,
    # planning -> running when the configuration asks for no approval
    S.PLANNING: frozenset({S.AWAITING_APPROVAL, S.RUNNING}) | _ABORT,
    # awaiting_approval -> planning when the default branch moved and the plan is remade
    S.AWAITING_APPROVAL: frozenset({S.RUNNING, S.PLANNING}) | _ABORT,
    # running -> closed when the work changed nothing, so there is nothing to propose
    # running -> planning when the approved plan no longer holds (jobs/runs/binding.py) and is remade
    S.RUNNING: frozenset({S.PROPOSED, S.CLOSED, S.PLANNING}) | _ABORT,
    S.PROPOSED: frozenset({S.MERGED, S.CLOSED}) | _ABORT,
    # terminal: a retry makes a new run (retry_of) instead of reviving this one
    S.MERGED: frozenset(),
    S.CLOSED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}
"""Every legal move, and only those."""

TERMINAL = frozenset(state for state, nexts in TRANSITIONS.items() if not nexts)
"""States a run never leaves."""
OPEN = frozenset(RunState) - TERMINAL
"""States of a run that is not over (a second start of the same workflow on the same issue is refused)."""
IN_FLIGHT = OPEN - {S.PROPOSED}
"""States `/steward cancel` stops: the work has not yet been proposed."""
RETRYABLE = frozenset({S.FAILED, S.CANCELLED})
"""States `/steward retry` starts again (as a new run)."""


class LedgerError(Exception):
    """A ledger operation the current records do not allow."""


class RunNotFound(LedgerError):
    """No run has this id."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run {run_id!r}")
        self.run_id = run_id


class IllegalTransition(LedgerError):
    """The transition table does not allow this move from the run's current state."""

    def __init__(self, run_id: str, current: RunState, to: RunState) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (final state)"
        super().__init__(f"run {run_id}: cannot go from {current} to {to} (allowed: {allowed})")
        self.run_id = run_id
        self.current = current
        self.to = to


class TransitionConflict(IllegalTransition):
    """Another worker moved the run first; the state this caller saw is gone."""

    def __init__(self, run_id: str, expected: RunState, to: RunState, actual: RunState | None) -> None:
        LedgerError.__init__(
            self, f"run {run_id}: expected {expected} to move to {to}, but it is now {actual or 'gone'}"
        )
        self.run_id = run_id
        self.current = actual or expected
        self.to = to
        self.expected = expected


class NotRetryable(LedgerError):
    """Only failed or cancelled runs are retried."""


def check_transition(run_id: str, current: RunState, to: RunState) -> None:
    """Raise IllegalTransition unless the table allows current -> to."""
    if to not in TRANSITIONS[current]:
        raise IllegalTransition(run_id, current, to)
