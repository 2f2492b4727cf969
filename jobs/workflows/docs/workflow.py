"""The docs workflow as the run lifecycle sees it: the first implementation of the Workflow seam."""

from __future__ import annotations

from app.config.model import RepoConfig, WorkflowConfig
from jobs.plan import Plan
from jobs.runs.workflow import Outcome, PlanInput, WorkInput, WorkItem
from jobs.workflows.docs import proposal
from jobs.workflows.docs.engine import apply_docs, plan_docs
from policies.loader import load_policy
from policies.model import Policy


class DocsWorkflow:
    """Changelog entries and generated blocks, by the built-in engine (no language model)."""

    name = "docs"

    def policy(self) -> Policy:
        return load_policy(self.name)

    def section(self, config: RepoConfig) -> WorkflowConfig:
        return config.workflows.docs

    def install(self, config: RepoConfig) -> str | None:
        return None  # the docs engine runs the repository's own commands only in its exec blocks

    def plan(self, given: PlanInput) -> Plan:
        return plan_docs(
            given.workspace,
            given.item.issue,
            given.config.workflows.docs,
            given.policy,
            instructions=given.item.instructions,
            base_sha=given.base_sha,
            git_dir=given.git_dir,
        )

    async def work(self, given: WorkInput) -> Outcome:
        return await apply_docs(
            given.workspace,
            given.plan,
            given.item.issue,
            given.config.workflows.docs,
            given.run,
            git_dir=given.git_dir,
        )

    def title(self, item: WorkItem) -> str:
        return proposal.title(item.issue)

    def commit_message(self, item: WorkItem) -> str:
        return proposal.commit_message(item.issue)

    def body(self, plan: Plan, item: WorkItem, outcome: Outcome, stat: str, run_id: str) -> str:
        return proposal.body(plan, item.issue, outcome, stat, run_id)
