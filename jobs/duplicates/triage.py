"""Triage one item: rank earlier ones, then converge on one comment (and a label); never close anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.config.model import DuplicatesConfig
from app.constants import DEFAULT_COMMAND_PREFIX, MARKER_DUPLICATES
from app.github.comments import find_marked, upsert_comment
from app.github.protocol import GitHubClient, RepoId
from app.observability.metrics import DUPLICATE_DECISIONS
from jobs.duplicates import decision, semantic
from jobs.duplicates.candidates import Suggestion, find_candidates
from jobs.duplicates.comment import render, render_none
from jobs.duplicates.engine import suggestions
from jobs.duplicates.live import IndexCache
from jobs.duplicates.record import ANSWERED_NOTE
from jobs.duplicates.store import Sessions
from jobs.duplicates.templates import repo_templates
from jobs.shadow.mode import SHADOW
from jobs.shadow.suggestions import record_suggestions


@dataclass(frozen=True)
class TriageResult:
    """What triage found and did."""

    candidates: list[Suggestion]
    shown: list[Suggestion] = field(default_factory=list)
    comment_id: int | None = None
    labelled: bool = False
    held: str | None = None
    """Why a suggestion was not posted (a noise limit), if it was held back."""
    shadow: bool = False
    """Shadow mode: the suggestion was recorded (jobs.shadow), nothing was posted or labelled."""

    @property
    def decision(self) -> str:
        """commented (suggested), answered (said none was found), held (a noise limit), shadow or silent."""
        if self.shadow:
            return "shadow"
        if self.held is not None:
            return "held"
        if self.comment_id is None:
            return "silent"
        return "commented" if self.shown else "answered"

    @property
    def summary(self) -> str:
        """The outcome with its scores, as the ledger records it (the dashboard's Duplicates page)."""
        if self.shadow:
            found = ", ".join(f"#{s.number} ({s.score:.2f})" for s in self.shown) or "nothing"
            return f"shadow mode: would suggest {found}; recorded, not posted"
        if self.held is not None:
            found = ", ".join(f"#{s.number} ({s.score:.2f})" for s in self.shown)
            return f"held {found}: no new comment past the noise limit of {self.held}"
        if not self.shown:
            said = f"; {ANSWERED_NOTE}" if self.comment_id is not None else ""
            if not self.candidates:
                return f"no candidate passed (0 ranked){said}"
            best = max(self.candidates, key=lambda s: s.score)  # a silent decision's score, for the dashboard
            ranked = f"{len(self.candidates)} ranked; best #{best.number} at {best.score:.2f}"
            return f"no candidate passed ({ranked}){said}"
        return "suggested " + ", ".join(f"#{s.number} ({s.score:.2f})" for s in self.shown)


async def triage(
    gh: GitHubClient,
    sessions: Sessions,
    index: IndexCache,
    repo: RepoId,
    number: int,
    config: DuplicatesConfig,
    *,
    bot_login: str,
    asked: bool = False,
    prefix: str = DEFAULT_COMMAND_PREFIX,
    hold_new: str | None = None,
    redis: Any = None,
) -> TriageResult:
    """Comment when a candidate passes the threshold, update that comment on reruns, else stay quiet.

    `hold_new` names a noise limit that is hit: then no new comment (or label); an existing one is updated.
    The repository's issue and PR templates (cached in `redis` when given) are stripped before comparing.
    """
    result = await _triage(
        gh, sessions, index, repo, number, config, bot_login, asked, prefix, hold_new, redis
    )
    DUPLICATE_DECISIONS.labels(result.decision).inc()
    return result


def resolved(config: DuplicatesConfig) -> DuplicatesConfig:
    """The configuration with its threshold set: the repository's own, else the retrieval mode's default."""
    if config.threshold is not None:
        return config
    hybrid = semantic.embeddings_available()[0]
    return config.model_copy(update={"threshold": decision.default_threshold(hybrid)})


async def _triage(
    gh: GitHubClient,
    sessions: Sessions,
    index: IndexCache,
    repo: RepoId,
    number: int,
    config: DuplicatesConfig,
    bot_login: str,
    asked: bool,
    prefix: str,
    hold_new: str | None,
    redis: Any,
) -> TriageResult:
    config = resolved(config)
    known = await repo_templates(gh, repo, redis)
    candidates = await find_candidates(sessions, index, repo.full_name, number, config, known)
    assert config.threshold is not None  # resolved above
    shown = suggestions(candidates, config.threshold, config.max_suggestions)
    if config.mode == SHADOW:  # what the comment (and label) would have said, kept instead of posted
        await record_suggestions(
            sessions, repo.full_name, number, config, candidates, shown, render(shown, prefix)
        )
        return TriageResult(candidates, shown, shadow=True)
    held = shown and hold_new is not None
    if held and await find_marked(gh, repo, number, MARKER_DUPLICATES, bot_login) is None:
        return TriageResult(candidates, shown, held=hold_new)
    if shown:
        comment = await upsert_comment(
            gh, repo, number, MARKER_DUPLICATES, render(shown, prefix), author=bot_login
        )
        labelled = False
        if config.label:
            await gh.add_labels(repo, number, [config.label])
            labelled = True
        return TriageResult(candidates, shown, comment.id, labelled)
    existing = None if asked else await find_marked(gh, repo, number, MARKER_DUPLICATES, bot_login)
    if asked or existing is not None:
        comment = await upsert_comment(
            gh, repo, number, MARKER_DUPLICATES, render_none(asked), author=bot_login
        )
        return TriageResult(candidates, [], comment.id)
    return TriageResult(candidates)
