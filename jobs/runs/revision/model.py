"""A revision's part of a plan: the run it revises, the branch head it builds on, the comments it reads."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.github.untrusted import code_span, inline

NOTE_STEP_PREFIXES = ("review-", "comment-")
"""Plan step ids of review comments (`review-<review id>`, `comment-<comment id>`)."""


class ReviewNote(BaseModel):
    """One review comment a revision reads, as data: a review's body, or a comment on a line of the diff."""

    id: str
    """Its plan step id: `review-<review id>` or `comment-<comment id>`."""
    kind: Literal["review", "comment"]
    author: str
    body: str
    path: str = ""
    line: int | None = None
    url: str = ""
    state: str = ""
    """A review's verdict (`changes_requested`, `commented`); empty for line comments."""

    def where(self) -> str:
        """`@rita on docs/usage.md line 3`, or `@rita's review (changes requested)`, inert."""
        who = f"@{inline(self.author, 60)}"
        if self.kind == "comment":
            at = f" line {self.line}" if self.line else ""
            return f"{who} on {code_span(self.path, 200)}{at}"
        return f"{who}'s review ({self.state.replace('_', ' ') or 'comment'})"


class PushedCommit(BaseModel):
    """A commit on the branch that Steward did not make; the revision builds on it."""

    sha: str
    author: str


class GeneratedFile(BaseModel):
    """A file Steward's own commits added on the branch (read from git), and who else edited it since."""

    path: str
    edited_by: list[str] = Field(default_factory=list)
    """People whose commits touched it after Steward added it (empty: Steward's own, refreshed in place)."""

    @property
    def own(self) -> bool:
        return not self.edited_by

    def editors(self) -> str:
        """`@rita`, `@sam` as code: named, never mentioned."""
        return ", ".join(code_span(f"@{who}") for who in self.edited_by) or "someone"


class BaseMove(BaseModel):
    """The default branch moved on since the branch left it: the revision merges it in and re-plans on top."""

    ref: str
    since: str
    """Where the branch had left the default branch (their merge base)."""
    to: str
    """The default branch's head the plan was made on, which the work merges in."""
    merge: str = ""
    """The merge commit the work made (empty until then)."""

    def line(self) -> str:
        return (
            f"{code_span(self.ref)} moved from `{self.since[:12]}` to `{self.to[:12]}` since the branch left "
            "it: the revision merges it into the branch (a merge commit; nothing is rebased or "
            "force-pushed) and re-plans on top."
        )


class RevisionPlan(BaseModel):
    """Which run and pull request this revises, the branch head it builds on, and what it read."""

    parent: str
    """The run that opened the pull request (or the revision before this one)."""
    pull: int
    branch: str
    head_sha: str
    """The branch's head when the plan was made (the work builds on the head it finds then)."""
    notes: list[ReviewNote] = Field(default_factory=list)
    pushed: list[PushedCommit] = Field(default_factory=list)
    base: BaseMove | None = None
    """The default branch's move the revision merges in (None: the branch already holds its head)."""
    generated: list[GeneratedFile] = Field(default_factory=list)
    """The files Steward's commits added on the branch, with who else edited them (read from git)."""


def is_note_step(step_id: str) -> bool:
    return step_id.startswith(NOTE_STEP_PREFIXES)


def pushed_line(pushed: list[PushedCommit], branch: str) -> str:
    """Who else pushed to the branch, and that Steward builds on their commits (never force-pushes)."""
    people = sorted({inline(commit.author, 60) or "someone" for commit in pushed})
    shas = ", ".join(code_span(commit.sha[:12]) for commit in pushed[:10])
    who = ", ".join(f"@{person}" for person in people)
    return (
        f"{who} pushed {len(pushed)} commit(s) to {code_span(branch)} ({shas}): Steward builds on them "
        "and adds a new commit on top; it never force-pushes over them."
    )


def revision_lines(revision: RevisionPlan | None) -> list[str]:
    """The plan comment's account of a revision (where it builds, who else pushed)."""
    if revision is None:
        return []
    lines = [
        f"**Revises:** run `{revision.parent}` in #{revision.pull}: a new commit on "
        f"{code_span(revision.branch)} on top of `{revision.head_sha[:12]}`; no new pull request. "
        f"Review comments read: {len(revision.notes)} (as data, with no authority beyond this plan)."
    ]
    if revision.base is not None:
        lines.append("**Base moved:** " + revision.base.line())
    if revision.pushed:
        lines.append("**Builds on people's commits:** " + pushed_line(revision.pushed, revision.branch))
    return lines
