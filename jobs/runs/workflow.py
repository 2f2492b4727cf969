"""The Workflow seam: all the run lifecycle knows of a workflow. Each workflow is one package under
`jobs/workflows/` that registers an object of this shape (see jobs.runs.registry); the lifecycle never
imports a workflow by name.

A run goes: plan (on the host, reading a checked-out workspace, no sandbox) -> approval -> setup phase (the
install step, network limited to the egress allowlist) -> work (in the sandbox, no network) -> the diff
checked against the policy, committed and proposed with the workflow's PR text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from app.config.model import RepoConfig, WorkflowConfig
from jobs.agent.task import AgentResult, RunAgent
from jobs.plan import Plan
from jobs.runs.revision.model import RevisionPlan
from jobs.runs.workitem import Exec, WorkItem
from policies.model import Policy
from sandbox.limits import Limits

__all__ = [
    "Exec",
    "Outcome",
    "PlanInput",
    "StepOutcome",
    "WorkInput",
    "WorkItem",
    "Workflow",
    "kinds",
]


@dataclass(frozen=True)
class StepOutcome:
    """What became of one plan step: `done`, `unchanged`, `dropped`, `failed` or `skipped`, and why."""

    step_id: str
    status: str
    detail: str


@dataclass
class Outcome:
    """What a workflow's work step did. Workflows may subclass it to carry more (the PR text reads it)."""

    changed: list[str] = field(default_factory=list)
    """Workspace-relative paths the work wrote."""
    steps: list[StepOutcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """What went wrong, in words fit for the PR body and the result comment."""
    notes: list[str] = field(default_factory=list)
    agent: AgentResult | None = None
    """What the agent engine did and spent, when it ran (shown in the PR body by the lifecycle)."""


@dataclass(frozen=True)
class PlanInput:
    """What the plan step reads: the item, the whole repository config, the effective policy, the checkout."""

    item: WorkItem
    config: RepoConfig
    policy: Policy
    workspace: Path
    """The checked-out work tree at `base_sha` (read it through jobs.workflows' safe readers only)."""
    git_dir: Path | None
    base_sha: str
    revision: RevisionPlan | None = None
    """A revision's account of the branch (what Steward generated on it, who edited it); None otherwise."""


@dataclass(frozen=True)
class WorkInput:
    """What the work step gets: the approved plan (unticked steps dropped), the budget and the sandbox."""

    item: WorkItem
    config: RepoConfig
    policy: Policy
    plan: Plan
    workspace: Path
    """The host side of the sandbox's /workspace; the sandbox's processes are stopped whenever host code
    runs, but everything in it is hostile: read and write it only through sandbox.hostfs."""
    git_dir: Path | None
    budget: Limits
    run: Exec
    """Run a command in the sandbox (the setup phase is over: no network)."""
    agent: RunAgent | None = None
    """The agent engine, when the plan chose it (None: the built-in engine only). The workflow calls it
    where its own steps would write, then checks what it wrote as it checks its own."""


@runtime_checkable
class Workflow(Protocol):
    """One workflow, as the lifecycle sees it."""

    name: str
    """The workflow's name: its policy file (policies/<name>.yml), its config section, its branch prefix."""

    def policy(self) -> Policy:
        """The shipped policy (usually `load_policy(name)`)."""
        ...

    def section(self, config: RepoConfig) -> WorkflowConfig:
        """This workflow's section of the repository's configuration (`enabled`, paths, limits, ...)."""
        ...

    def install(self, config: RepoConfig) -> str | None:
        """The workflow's own setup command, if its config has one (else `setup.install`, else detected)."""
        ...

    def plan(self, given: PlanInput) -> Plan:
        """Decide what to do; runs on the host (in a thread) over a checkout, never running its code."""
        ...

    async def work(self, given: WorkInput) -> Outcome:
        """Carry out the approved plan inside the sandbox; return what it did."""
        ...

    def title(self, item: WorkItem) -> str:
        """The pull request's title (also the commit's subject)."""
        ...

    def commit_message(self, item: WorkItem) -> str:
        """The whole commit message."""
        ...

    def body(self, plan: Plan, item: WorkItem, outcome: Outcome, stat: str, run_id: str) -> str:
        """The pull request's body (Markdown; outside text made inert with app.github.untrusted)."""
        ...


def kinds(workflows: Sequence[Workflow]) -> list[str]:
    """The names, sorted, for messages that list what is available."""
    return sorted(workflow.name for workflow in workflows)
