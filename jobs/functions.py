"""Every function the worker runs; each area appends its job functions here (plain list, one line each)."""

from __future__ import annotations

from typing import Any

from jobs.handlers.comment import handle_comment
from jobs.handlers.installation import sync_installation
from jobs.handlers.review import review_submitted
from jobs.handlers.triage import triage_duplicates

FUNCTIONS: list[Any] = [
    handle_comment,
    triage_duplicates,
    sync_installation,
    review_submitted,
]
"""Coroutines `async def job(ctx, **kwargs)` or arq `func(...)` wrappers (for a per-job timeout or tries)."""
