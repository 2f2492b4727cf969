"""Duplicate triage in shadow mode: the suggestions it would have commented, with every candidate's score."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.config.model import DuplicatesConfig
from jobs.duplicates.candidates import Suggestion
from jobs.shadow.store import TRIAGE_SCOPE, Effect, Sessions, record

WORKFLOW = "duplicates"
KIND = "suggestions"
CANDIDATES_KEPT = 10


def _candidate(item: Suggestion) -> dict[str, Any]:
    return {
        "number": item.number,
        "score": round(item.score, 4),
        "title": item.title[:200],
        "state": item.state,
    }


async def record_suggestions(
    sessions: Sessions,
    repo: str,
    number: int,
    config: DuplicatesConfig,
    candidates: Sequence[Suggestion],
    shown: Sequence[Suggestion],
    comment: str,
) -> None:
    """One record per item (a rerun replaces it): what would have been shown, and the best candidates."""
    data = {
        "shown": [item.number for item in shown],
        "candidates": [_candidate(item) for item in list(candidates)[:CANDIDATES_KEPT]],
        "threshold": config.threshold,
        "label": config.label if shown else None,
    }
    body = comment if shown else ""
    await record(sessions, Effect(repo, number, WORKFLOW, TRIAGE_SCOPE, KIND, "", body, data))
