"""The tests workflow as the lifecycle sees it (the Workflow protocol)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from app.config.model import RepoConfig, WorkflowConfig
from jobs.plan import Plan
from jobs.runs.workflow import Outcome, PlanInput, WorkInput, WorkItem
from jobs.workflows.tests import text
from jobs.workflows.tests.affected import repository_files
from jobs.workflows.tests.engine import run_engine
from jobs.workflows.tests.generators import Generator, Pynguin
from jobs.workflows.tests.layout import detect
from jobs.workflows.tests.planning import plan_tests
from policies.loader import load_policy
from policies.model import Policy


@dataclass
class TestsWorkflow:
    """Write tests for the affected code, keep those that pass reliably and add coverage."""

    __test__ = False  # not a pytest class

    name: str = "tests"
    generator: Generator = field(default_factory=Pynguin)

    def policy(self) -> Policy:
        return load_policy(self.name)

    def section(self, config: RepoConfig) -> WorkflowConfig:
        return config.workflows.tests

    def install(self, config: RepoConfig) -> str | None:
        return config.workflows.tests.install or config.setup.install

    def plan(self, given: PlanInput) -> Plan:
        return plan_tests(given, given.config.workflows.tests)

    async def work(self, given: WorkInput) -> Outcome:
        if given.agent is None:
            return await run_engine(given, given.config.workflows.tests, self.generator)
        from jobs.workflows.tests import agent_tools  # the tool layer loads only for the agent
        from jobs.workflows.tests.agentgen import AgentGenerator, Both, total

        files = await asyncio.to_thread(repository_files, given.workspace, given.git_dir)
        agent = AgentGenerator(given.agent, agent_tools.TOOLS, detect(files).folder)
        outcome = await run_engine(given, given.config.workflows.tests, Both(self.generator, agent))
        outcome.agent = total(agent.results)
        return outcome

    def title(self, item: WorkItem) -> str:
        return text.title(item)

    def commit_message(self, item: WorkItem) -> str:
        return text.commit_message(item)

    def body(self, plan: Plan, item: WorkItem, outcome: Outcome, stat: str, run_id: str) -> str:
        return text.body(plan, item, outcome, stat, run_id)
