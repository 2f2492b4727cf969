"""The docs workflow as the run lifecycle sees it: the first implementation of the Workflow seam."""

from __future__ import annotations

from app.config.model import RepoConfig, WorkflowConfig
from jobs.agent.task import AgentTask
from jobs.plan import NOT_ACTED_ON, Plan
from jobs.runs.workflow import Outcome, PlanInput, WorkInput, WorkItem
from jobs.workflows.docs import proposal
from jobs.workflows.docs.engine import apply_docs, plan_docs
from policies.loader import load_policy
from policies.model import Policy

AGENT_GOAL = (
    "Update this repository's documentation for the issue or pull request below, acting on the requester's "
    "instructions where they fit: edit prose in the documentation files you may write (read the code and "
    "the docs first; keep each change small and true to the code), and add a changelog entry with "
    "changelog_entry when the change is one users notice."
)


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
        config = given.config.workflows.docs
        done = None
        if given.agent is not None:  # the agent edits prose first; the built-in steps then run as ever
            from jobs.workflows.docs.agent_tools import tools  # the tool layer loads only for the agent

            done = await given.agent(AgentTask(AGENT_GOAL, tools(config)))
        outcome = await apply_docs(
            given.workspace, given.plan, given.item.issue, config, given.run, git_dir=given.git_dir
        )
        if done is not None:
            outcome.agent = done
            outcome.changed = sorted({*outcome.changed, *done.written})
            outcome.notes = [note for note in outcome.notes if note != NOT_ACTED_ON]
        return outcome

    def title(self, item: WorkItem) -> str:
        return proposal.title(item.issue)

    def commit_message(self, item: WorkItem) -> str:
        return proposal.commit_message(item.issue)

    def body(self, plan: Plan, item: WorkItem, outcome: Outcome, stat: str, run_id: str) -> str:
        return proposal.body(plan, item.issue, outcome, stat, run_id)
