"""The terminal side of the seam: the plan and the result printed, the change kept on a local branch."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from jobs.ledger import RunView
from jobs.plan import Plan, render_plan
from jobs.runs import registry
from jobs.runs.engines import agent_section
from jobs.runs.forge import Proposed
from jobs.runs.localitem import LocalRunError
from jobs.runs.work import WorkResult, diff_stat
from jobs.runs.workflow import WorkItem
from sandbox.git import branch_name

Echo = Callable[[str], None]
_HIDDEN = re.compile(r"<!--.*?-->")


def terminal_plan(plan: Plan, run_id: str, state: str) -> str:
    """The plan comment as a terminal shows it: the same text without the hidden markers."""
    text = _HIDDEN.sub("", render_plan(plan, run_id=run_id, state=state))
    text = re.sub(r"To run it: .*", "Locally, the plan is approved on the terminal (or with --yes).", text)
    text = text.replace(
        "Steps (untick a step before approving to drop it):",
        "Steps (to drop some, answer e at the prompt, or pass --skip with their numbers):",
    )
    steps = iter(range(1, len(plan.steps) + 1))
    text = re.sub(r"^- \[([ x])\] ", lambda m: f"{next(steps, 0)}. [{m.group(1)}] ", text, flags=re.M)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip()


async def git_out(repo: Path, *args: str) -> str:
    result = await anyio.run_process(["git", "-C", str(repo), *args], check=False)
    if result.returncode != 0:
        raise LocalRunError(
            f"git {args[0]} in {repo} failed: {result.stderr.decode(errors='replace').strip()}"
        )
    return result.stdout.decode(errors="replace")


@dataclass
class LocalForge:
    """Prints the plan once, then one line per change of state; proposes by printing the diff and PR text."""

    checkout: Path
    base: str
    echo: Echo
    err: Echo
    shown: set[str] = field(default_factory=set)
    retry_hint: str = "run the same `steward run` again"

    async def show_plan(self, run: RunView, plan: Plan, status: str = "") -> None:
        if run.id not in self.shown:
            self.shown.add(run.id)
            self.echo(terminal_plan(plan, run.id, run.state.value.replace("_", " ")))
        elif status:
            self.echo(f"\nRun {run.id}: {run.state.value} ({status})")

    async def tell(self, run: RunView, text: str) -> None:
        self.err(text)

    async def propose(self, run: RunView, plan: Plan, item: WorkItem, result: WorkResult) -> Proposed:
        assert result.commit is not None
        workflow = registry.get(run.workflow)
        branch = branch_name(workflow.name, run.number)
        diff = await git_out(self.checkout, "diff", "--no-color", self.base, branch)
        self.echo(f"\n=== diff ({branch}, commit {result.commit[:12]}) ===\n{diff.rstrip()}")
        body = workflow.body(plan, item, result.outcome, diff_stat(result.changes), run.id) + agent_section(
            result.outcome
        )
        self.echo(f"\n=== pull request it would open ===\n{workflow.title(item)}\n\n{body}")
        self.echo(
            f"\nCommitted on local branch {branch}; nothing was pushed. Trace: steward runs show {run.id}"
        )
        return Proposed(where=f"local branch {branch}")
