"""The shadow side of the run seam: the plan and messages recorded as comments, the proposal as the branch,
the diff and the pull request that would have been opened; nothing reaches GitHub and nothing is pushed."""

from __future__ import annotations

from dataclasses import dataclass

from app.github.client import GitHubKitClient
from app.github.protocol import RepoId
from jobs.ledger import RunView
from jobs.plan import Plan
from jobs.runs import registry
from jobs.runs.engines import agent_section
from jobs.runs.forge import Forge, Proposed
from jobs.runs.github_forge import GitHubForge
from jobs.runs.work import WorkResult, diff_stat
from jobs.runs.workflow import WorkItem
from jobs.shadow.client import ShadowClient
from sandbox.git import branch_name

SHADOW_WHERE = "shadow mode: nothing was pushed or posted"


@dataclass
class ShadowForge:
    """GitHubForge's plan and messages over a ShadowClient (so they are recorded); the proposal recorded."""

    gh: ShadowClient
    forge: GitHubForge
    retry_hint: str = "`/steward retry` runs it again"

    async def show_plan(self, run: RunView, plan: Plan, status: str = "") -> None:
        await self.forge.show_plan(run, plan, status)

    async def tell(self, run: RunView, text: str) -> None:
        await self.forge.tell(run, text)

    async def propose(self, run: RunView, plan: Plan, item: WorkItem, result: WorkResult) -> Proposed:
        assert result.commit is not None
        workflow = registry.get(run.workflow)
        branch = plan.revision.branch if plan.revision is not None else branch_name(workflow.name, run.number)
        stat = diff_stat(result.changes)
        files = [change.path for change in result.changes]
        await self.gh.record_effect(
            self.forge.repo, run.number, "push", branch, result.patch,
            branch=branch, commit=result.commit, files=files, diff_stat=stat,
        )  # fmt: skip
        body = workflow.body(plan, item, result.outcome, stat, run.id) + agent_section(result.outcome)
        await self.gh.create_pull(
            self.forge.repo, title=workflow.title(item), body=body, head=branch, base=self.forge.base
        )
        return Proposed(where=f"{branch} ({SHADOW_WHERE})", final=True)


def forge_for(gh: GitHubKitClient, repo: RepoId, bot: str, base: str) -> Forge:
    """The run's forge: GitHub's, or over a shadow client the one that records."""
    forge = GitHubForge(gh, repo, bot, base)
    return ShadowForge(gh, forge) if isinstance(gh, ShadowClient) else forge
