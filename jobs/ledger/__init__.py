"""The run ledger: runs, their transitions, steps, approvals, plans and proposals.

The names are loaded on first use (PEP 562), so that `jobs.ledger.states` or `jobs.ledger.render` can be
imported without SQLAlchemy: the command line's start-up stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobs.ledger.ledger import Ledger, new_run_id
    from jobs.ledger.states import (
        IN_FLIGHT,
        OPEN,
        RETRYABLE,
        TERMINAL,
        TRANSITIONS,
        IllegalTransition,
        LedgerError,
        NotRetryable,
        RunNotFound,
        RunState,
        TransitionConflict,
    )
    from jobs.ledger.views import (
        ApprovalDecision,
        ApprovalView,
        NoiseCounts,
        ProposalView,
        RunTrace,
        RunView,
        StepView,
        TransitionView,
    )

_WHERE = {
    "jobs.ledger.ledger": ("Ledger", "new_run_id"),
    "jobs.ledger.states": (
        "IN_FLIGHT",
        "OPEN",
        "RETRYABLE",
        "TERMINAL",
        "TRANSITIONS",
        "IllegalTransition",
        "LedgerError",
        "NotRetryable",
        "RunNotFound",
        "RunState",
        "TransitionConflict",
    ),
    "jobs.ledger.views": (
        "ApprovalDecision",
        "ApprovalView",
        "NoiseCounts",
        "ProposalView",
        "RunTrace",
        "RunView",
        "StepView",
        "TransitionView",
    ),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}

__all__ = [
    "IN_FLIGHT",
    "OPEN",
    "RETRYABLE",
    "TERMINAL",
    "TRANSITIONS",
    "ApprovalDecision",
    "ApprovalView",
    "IllegalTransition",
    "Ledger",
    "LedgerError",
    "NoiseCounts",
    "NotRetryable",
    "ProposalView",
    "RunNotFound",
    "RunState",
    "RunTrace",
    "RunView",
    "StepView",
    "TransitionConflict",
    "TransitionView",
    "new_run_id",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
