"""The GitHub side of the seam: the plan comment, the result comment, the pull request and its status."""

from __future__ import annotations

from dataclasses import dataclass

from app.constants import REVIEW_STATUS_CONTEXT
from app.github.comments import bounded_body, upsert_comment
from app.github.protocol import RepoId, RunGitHubClient
from jobs import failpoints
from jobs.ledger import RunView
from jobs.plan import Plan
from jobs.runs import registry
from jobs.runs.engines import agent_section
from jobs.runs.forge import Proposed
from jobs.runs.outcome import tell
from jobs.runs.plancomment import show_plan
from jobs.runs.revision.planning import RevisionRefused
from jobs.runs.revision.result import result_body, result_marker
from jobs.runs.work import WorkResult, diff_stat
from jobs.runs.workflow import WorkItem
from sandbox.git import branch_name

PENDING_TEXT = "Waiting for an approving review by a person with write access"


@dataclass
class GitHubForge:
    """Each effect looks before it acts: comments by marker, the PR by head branch, the status by commit."""

    gh: RunGitHubClient
    repo: RepoId
    bot: str
    base: str = "main"
    """The branch pull requests go to (the default branch)."""
    retry_hint: str = "`/steward retry` runs it again"

    async def show_plan(self, run: RunView, plan: Plan, status: str = "") -> None:
        await show_plan(
            self.gh, self.repo, run.number, run.id, plan, run.state.value, bot=self.bot, status=status
        )

    async def tell(self, run: RunView, text: str) -> None:
        await tell(self.gh, self.repo, run.number, run.id, text, bot=self.bot)

    async def propose(self, run: RunView, plan: Plan, item: WorkItem, result: WorkResult) -> Proposed:
        assert result.commit is not None
        workflow = registry.get(run.workflow)
        branch = plan.revision.branch if plan.revision is not None else branch_name(workflow.name, run.number)
        await failpoints.hit("pr")
        pull = await self.gh.find_open_pull(self.repo, branch)
        if pull is None and plan.revision is not None:
            raise RevisionRefused(f"#{plan.revision.pull} closed before the revision's commit was proposed")
        if pull is None:
            text = workflow.body(
                plan, item, result.outcome, diff_stat(result.changes), run.id
            ) + agent_section(result.outcome)
            pull = await self.gh.create_pull(
                self.repo, title=workflow.title(item), body=bounded_body(text), head=branch, base=self.base
            )
        await failpoints.hit("status")
        if await self.gh.status_of(self.repo, result.commit, REVIEW_STATUS_CONTEXT) is None:
            await self.gh.set_status(
                self.repo, result.commit, "pending", context=REVIEW_STATUS_CONTEXT, description=PENDING_TEXT
            )
        if plan.revision is not None:  # one result comment per revision, found by its marker on a retry
            body = result_body(run.id, plan, result.commit, plan.revision)
            await upsert_comment(
                self.gh, self.repo, pull.number, result_marker(run.id), body, author=self.bot
            )
        return Proposed(where=f"#{pull.number}", number=pull.number, url=pull.html_url)
