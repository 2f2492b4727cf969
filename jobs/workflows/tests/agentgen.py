"""Candidate tests written by the agent engine: the same candidates, validated like the generator's.

The agent may write one file only, a scratch test module in the repository's tests folder; its tests are
read back, the file removed, and each test function becomes a candidate that must pass 5 runs alone, in a
random order, and add coverage, as a Pynguin test must. Nothing the agent wrote reaches the branch as it is.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

from jobs.agent.context import AgentTool
from jobs.agent.task import AgentResult, AgentTask, RunAgent
from jobs.workflows.tests.candidates import Target, split
from jobs.workflows.tests.generators import Generated, Generator, Run
from jobs.workflows.tests.sandboxenv import WORKSPACE


def scratch_path(folder: str | None, target: Target) -> str:
    """Where the agent writes its tests for one module (inside the tests folder, removed after reading)."""
    name = f"test_steward_agent_{target.module.replace('.', '_')}.py"
    return f"{folder}/{name}" if folder and folder != "." else name


def goal(target: Target, path: str) -> str:
    return (
        f"Write pytest tests for the module `{target.module}` (file `{target.path}`) that cover the lines "
        f"and branches its existing tests miss (the `coverage` tool shows them). Write them all to `{path}` "
        "with write_file, as plain test functions that import the module by its dotted name; check them with "
        "run_tests. Tests must be deterministic: no time, randomness, network or absolute paths."
    )


@dataclass
class AgentGenerator:
    """Asks the agent for a module's tests; spends from the run's one budget."""

    agent: RunAgent
    tools: Sequence[AgentTool]
    folder: str | None
    name: str = "agent"
    results: list[AgentResult] = field(default_factory=list)

    async def generate(self, target: Target, roots: list[str], seconds: int, run: Run) -> Generated:
        path = scratch_path(self.folder, target)
        done = await self.agent(AgentTask(goal(target, path), self.tools, writable=(path,)))
        self.results.append(done)
        quoted = shlex.quote(f"{WORKSPACE}/{path}")
        read = await run(f"cat {quoted}")
        await run(f"rm -f {quoted}")
        if not read.ok:
            return Generated(problems=[f"the agent wrote no tests for {target.path}"])
        return Generated(split(read.output, target, "agent-" + target.module.replace(".", "-")))


@dataclass
class Both:
    """Two generators' candidates for each module, validated together."""

    first: Generator
    second: Generator
    name: str = "pynguin+agent"

    async def generate(self, target: Target, roots: list[str], seconds: int, run: Run) -> Generated:
        one = await self.first.generate(target, roots, seconds, run)
        two = await self.second.generate(target, roots, seconds, run)
        return Generated(one.candidates + two.candidates, one.problems + two.problems)


def total(results: Sequence[AgentResult]) -> AgentResult | None:
    """The agent's calls of one run as one account."""
    if not results:
        return None
    return AgentResult(
        text="\n".join(result.text for result in results),
        requests=sum(r.requests for r in results),
        input_tokens=sum(r.input_tokens for r in results),
        output_tokens=sum(r.output_tokens for r in results),
        cost=sum(r.cost for r in results),
        tool_calls=sum(r.tool_calls for r in results),
        written=(),
        refused=tuple(item for r in results for item in r.refused),
    )
