"""Every function the worker runs; each area appends its job functions here (plain list, one line each)."""

from __future__ import annotations

from typing import Any

from arq import func

from jobs.configcheck import check_config
from jobs.context import JOB_TIMEOUT_SECONDS, QUICK_JOB_TIMEOUT
from jobs.duplicates.jobs import TRIAGE_JOB, backfill_index, index_event, triage_item
from jobs.handlers.comment import handle_comment
from jobs.handlers.installation import sync_installation
from jobs.handlers.landed import docs_on_landed
from jobs.handlers.review import review_submitted
from jobs.handlers.review_commands import handle_review_comment
from jobs.runs.deadline import within
from jobs.runs.gate import pull_closed, pull_synchronized
from jobs.runs.planning import plan_run
from jobs.runs.working import work_run

FUNCTIONS: list[Any] = [
    func(handle_comment, timeout=QUICK_JOB_TIMEOUT),
    func(triage_item, name=TRIAGE_JOB, timeout=QUICK_JOB_TIMEOUT),
    func(sync_installation, timeout=QUICK_JOB_TIMEOUT),
    func(review_submitted, timeout=QUICK_JOB_TIMEOUT),
    func(handle_review_comment, timeout=QUICK_JOB_TIMEOUT),
    func(within(plan_run, QUICK_JOB_TIMEOUT, "the planning"), name="plan_run", timeout=QUICK_JOB_TIMEOUT),
    func(within(work_run, JOB_TIMEOUT_SECONDS, "the work"), name="work_run", timeout=JOB_TIMEOUT_SECONDS),
    func(pull_synchronized, timeout=QUICK_JOB_TIMEOUT),
    func(pull_closed, timeout=QUICK_JOB_TIMEOUT),
    func(index_event, timeout=QUICK_JOB_TIMEOUT),
    func(backfill_index, timeout=QUICK_JOB_TIMEOUT),
    func(check_config, timeout=QUICK_JOB_TIMEOUT),
    func(docs_on_landed, timeout=QUICK_JOB_TIMEOUT),
]
"""Coroutines `async def job(ctx, **kwargs)` or arq `func(...)` wrappers (for a per-job timeout or tries)."""
