"""Where candidate tests come from: a small interface, with Pynguin (search-based, no model) behind it."""

from __future__ import annotations

import shlex
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Protocol

from jobs.workflows.tests.candidates import Candidate, Target, split
from jobs.workflows.tests.sandboxenv import (
    PYNGUIN,
    SCRATCH,
    WORKSPACE,
    env_prefix,
    has_tool,
    timed,
)
from sandbox.base import CommandResult


class Run(Protocol):
    """Run one shell command in the sandbox; a labelled one is listed in the PR body with its time."""

    def __call__(self, command: str, label: str = "") -> Awaitable[CommandResult]: ...


PYNGUIN_GRACE = 60
"""Seconds Pynguin gets past its search budget to write its module, before `timeout` stops it."""
MUTATION_SECONDS = PYNGUIN_GRACE // 3
"""Pynguin's assertion generation (mutation analysis) after the search, which it does not bound by default:
on a parser module such as toml's decoder it ran past 240 s, so `timeout` stopped Pynguin before it wrote any
test. Bounded, the rest of the grace covers its start, minimisation and writing."""


class GeneratorMissingError(RuntimeError):
    """The generator is not in the sandbox image; the message names the image to build."""


@dataclass
class Generated:
    """What a generator made for one module, and what went wrong."""

    candidates: list[Candidate] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Generator(Protocol):
    """Makes candidate tests for one module, inside the sandbox."""

    name: str

    async def generate(self, target: Target, roots: list[str], seconds: int, run: Run) -> Generated: ...


@dataclass
class Pynguin:
    """Pynguin from the image's tools venv; it executes the module, so it only ever runs in the sandbox."""

    name: str = "pynguin"

    async def generate(self, target: Target, roots: list[str], seconds: int, run: Run) -> Generated:
        if not (await run(has_tool(PYNGUIN))).ok:
            raise GeneratorMissingError(
                f"the sandbox image has no Pynguin at {PYNGUIN}; rebuild it with `steward sandbox build`"
            )
        out = f"{SCRATCH}/pynguin/{target.module}"
        project = WORKSPACE if target.root == "." else f"{WORKSPACE}/{target.root}"
        command = " ".join(
            [
                env_prefix(roots, PYNGUIN_DANGER_AWARE="1"),
                timed(seconds + PYNGUIN_GRACE, PYNGUIN),
                f"--project-path {shlex.quote(project)}",
                f"--module-name {shlex.quote(target.module)}",
                f"--output-path {shlex.quote(out)}",
                f"--report-dir {shlex.quote(out + '/report')}",  # never its default, ./pynguin-report
                f"--maximum-search-time {int(seconds)}",
                f"--maximum-mutation-time {MUTATION_SECONDS}",
                "--seed 1",
            ]
        )
        done = await run(command, f"generate tests for {target.path} with Pynguin")
        if not done.ok:
            return Generated(problems=[f"Pynguin failed on {target.path} ({_why(done)})"])
        name = "test_" + target.module.rsplit(".", 1)[-1] + ".py"  # Pynguin names it after the last part
        read = await run(f"cat {shlex.quote(f'{out}/{name}')}")
        if not read.ok:
            return Generated(problems=[f"Pynguin wrote no tests for {target.path}"])
        return Generated(split(read.output, target, target.module.replace(".", "-")))


def _why(done: CommandResult) -> str:
    if done.exit_code == 124:
        return "it ran out of time"
    tail = done.output.strip().splitlines()[-1:] or [""]
    return f"exit {done.exit_code}: {tail[0][:200]}"
