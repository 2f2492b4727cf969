"""A revision's work starts from the branch head it finds then: whatever people pushed since the plan is
built on, never pushed over (the push is a plain fast-forward; git refuses anything else)."""

from __future__ import annotations

from dataclasses import dataclass

from app.github.protocol import RepoId
from jobs.ledger import Ledger, RunView
from jobs.plan import Plan
from jobs.runs.revision.planning import RevisionRefused
from jobs.runs.revision.reviews import ReviewGitHubClient, pushed_by_people


@dataclass(frozen=True)
class RevisionHead:
    """Where the revision's work clones (the branch and its head now) and the item it is about."""

    plan: Plan
    head_sha: str
    branch: str
    item_number: int


async def revision_head(
    gh: ReviewGitHubClient, ledger: Ledger, run: RunView, plan: Plan, bot: str
) -> RevisionHead:
    """The pull request's head now; the plan's account of people's commits brought up to date."""
    revision = plan.revision
    assert revision is not None and run.revision_of is not None
    pull = await gh.get_pull(RepoId.parse(run.repo), revision.pull)
    if pull.state != "open" or pull.merged:
        raise RevisionRefused(f"#{revision.pull} was {'merged' if pull.merged else pull.state} meanwhile")
    if pull.head_ref != revision.branch:
        raise RevisionRefused(f"#{revision.pull} now comes from `{pull.head_ref}`, not `{revision.branch}`")
    if pull.head_sha != revision.head_sha:
        pushed = await pushed_by_people(gh, RepoId.parse(run.repo), revision.pull, bot)
        revision = revision.model_copy(update={"head_sha": pull.head_sha, "pushed": pushed})
        plan = plan.model_copy(update={"revision": revision})
    parent = await ledger.require_run(run.revision_of)
    return RevisionHead(plan=plan, head_sha=pull.head_sha, branch=revision.branch, item_number=parent.number)
