"""A revision's plan: built on the pull request's branch head, listing the review comments it addresses."""

from __future__ import annotations

from dataclasses import dataclass

from app.github.protocol import IssueRecord, RepoId
from jobs.ledger import Ledger, RunView
from jobs.plan import Plan, PlanStep
from jobs.runs.revision.model import ReviewNote, RevisionPlan
from jobs.runs.revision.reviews import ReviewGitHubClient, pushed_by_people, review_notes

REVISION_PERMISSIONS = {"contents": "read", "issues": "write", "pull_requests": "read"}
"""Planning a revision also reads the pull request, its reviews, review comments and commits."""
TITLE_CHARS = 120
BUILTIN_NOTE = (
    "The built-in engine does not act on review text: it re-plans on the branch, with the default branch "
    "merged in where it moved, and refreshes what it generated (changelog entry, generated blocks, generated "
    "tests). Review comments it read: {notes}."
)


class RevisionRefused(Exception):
    """The pull request cannot be revised now (closed, or its branch is not the run's)."""


@dataclass(frozen=True)
class RevisionBase:
    """Where a revision starts: the original item, and the branch head with what people said and pushed."""

    issue: IssueRecord
    revision: RevisionPlan


def _since(parent: RunView) -> str:
    """A revision of a revision reads only what came after the one before (GitHub's ISO times sort)."""
    return parent.created_at.strftime("%Y-%m-%dT%H:%M:%SZ") if parent.revision_of else ""


async def revision_base(gh: ReviewGitHubClient, ledger: Ledger, run: RunView, bot: str) -> RevisionBase:
    """Read the pull request as it stands; RevisionRefused says why it cannot be revised."""
    assert run.revision_of is not None
    repo = RepoId.parse(run.repo)
    parent = await ledger.require_run(run.revision_of)
    pull = await gh.get_pull(repo, run.number)
    if pull.state != "open" or pull.merged:
        raise RevisionRefused(
            f"#{run.number} is {'merged' if pull.merged else pull.state}; nothing to revise"
        )
    branch = run.branch or parent.branch or ""
    if pull.head_ref != branch:
        raise RevisionRefused(f"#{run.number} comes from `{pull.head_ref}`, not Steward's branch `{branch}`")
    notes = await review_notes(gh, repo, run.number, bot, _since(parent))
    pushed = await pushed_by_people(gh, repo, run.number, bot)
    issue = await gh.get_issue(repo, parent.number)
    revision = RevisionPlan(
        parent=parent.id, pull=run.number, branch=branch, head_sha=pull.head_sha, notes=notes, pushed=pushed
    )
    return RevisionBase(issue=issue, revision=revision)


def note_title(note: ReviewNote) -> str:
    """A plan step's title for one comment, as plain text: where it is and its first words (the plan comment
    makes it inert)."""
    words = " ".join(note.body.split())
    cut = words if len(words) <= TITLE_CHARS else words[: TITLE_CHARS - 1] + "…"
    if note.kind == "comment":
        at = f" line {note.line}" if note.line else ""
        return f"Address {note.author}'s comment on {note.path}{at}: {cut}"
    return f"Address {note.author}'s review ({note.state.replace('_', ' ')}): {cut}"


def with_revision(plan: Plan, revision: RevisionPlan) -> Plan:
    """The plan with the revision said: with the agent, one step per comment it addresses (untick one to
    leave it); with the built-in engine, the comments as a note, since it does not act on text."""
    notes = list(plan.notes)
    steps = list(plan.steps)
    if plan.agent is not None:
        steps += [PlanStep(id=note.id, title=note_title(note), detail=note.url) for note in revision.notes]
    elif revision.notes:
        notes.append(BUILTIN_NOTE.format(notes=len(revision.notes)))
    return plan.model_copy(update={"revision": revision, "steps": steps, "notes": notes})
