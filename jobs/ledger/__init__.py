"""The run ledger: runs, their transitions, steps, approvals, plans and proposals."""

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
