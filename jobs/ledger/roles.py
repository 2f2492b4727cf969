"""The requester roles a run records besides GitHub's own (admin, maintain, write, triage, read, none)."""

from __future__ import annotations

from app.constants import ROLE_NOT_LOOKED_UP as NOT_LOOKED_UP
from jobs.ledger.views import RunView

LOCAL = "local"
"""`steward run` and `steward runs replay` on the command line: the person at the terminal."""
DASHBOARD = "dashboard operator"
"""A retry from the dashboard, by a signed-in operator (who holds no role on the repository as such)."""
AUTOMATIC = "automatic"
"""No person asked: an event started the run (the run's `event` says which)."""

__all__ = ["AUTOMATIC", "DASHBOARD", "LOCAL", "NOT_LOOKED_UP", "requester"]


def requester(run: RunView) -> str:
    """Who asked for the run, with the role, as one phrase: `alice (write)`, `steward (automatic: opened)`."""
    who = run.actor or "?"
    if run.actor_role == AUTOMATIC:
        return f"{who} (automatic: {run.event or 'an event'})"
    if run.actor_role == DASHBOARD:  # the ledger names a signed-in login `alice (dashboard)`: say it once
        return f"{who.removesuffix(' (dashboard)')} ({DASHBOARD})"
    return f"{who} ({run.actor_role or 'role not recorded'})"
