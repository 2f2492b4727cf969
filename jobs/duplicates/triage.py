"""Triage one item: rank earlier ones, then converge on one comment (and a label); never close anything."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.config.model import DuplicatesConfig
from app.constants import DEFAULT_COMMAND_PREFIX, MARKER_DUPLICATES
from app.github.comments import find_marked, upsert_comment
from app.github.protocol import GitHubClient, RepoId
from jobs.duplicates.candidates import Suggestion, find_candidates
from jobs.duplicates.comment import render, render_none
from jobs.duplicates.engine import suggestions
from jobs.duplicates.live import IndexCache
from jobs.duplicates.store import Sessions


@dataclass(frozen=True)
class TriageResult:
    """What triage found and did."""

    candidates: list[Suggestion]
    shown: list[Suggestion] = field(default_factory=list)
    comment_id: int | None = None
    labelled: bool = False

    @property
    def summary(self) -> str:
        if not self.shown:
            return f"no candidate passed ({len(self.candidates)} ranked)"
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
) -> TriageResult:
    """Comment when a candidate passes the threshold, update that comment on reruns, else stay quiet."""
    candidates = await find_candidates(sessions, index, repo.full_name, number, config)
    shown = suggestions(candidates, config.threshold, config.max_suggestions)
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
