"""The engine's commands in the sandbox: each timed and kept for the PR body, coverage read back as data."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from jobs.runs.workflow import Exec
from jobs.workflows.tests.measure import Report, ReportError, parse_report
from jobs.workflows.tests.sandboxenv import PYTHON, SCRATCH, env_prefix, pytest_args, python_path, timed
from sandbox.base import CommandResult


@dataclass(frozen=True)
class Command:
    """One command the engine ran, for the PR body: what it was for, how long it took, how it ended."""

    label: str
    seconds: float
    exit_code: int


@dataclass
class Session:
    """The sandbox as the engine uses it: the project's source roots on the path, every command recorded."""

    exec: Exec
    roots: list[str]
    commands: list[Command] = field(default_factory=list)

    async def run(self, command: str, label: str = "") -> CommandResult:
        done = await self.exec(command)
        if label:
            self.commands.append(Command(label, done.duration, done.exit_code))
        return done

    async def raw(self, command: str) -> CommandResult:
        """A command the PR body does not list (reading files back, writing candidates)."""
        return await self.exec(command)

    async def covered(
        self,
        targets: list[str],
        include: list[str],
        seconds: float,
        label: str,
        source: list[str] | None = None,
        **env: str,
    ) -> tuple[CommandResult, Report | None]:
        """pytest under `coverage run --branch` and the JSON report of the included files."""
        data = f"{SCRATCH}/coverage.data"
        sources = ",".join(python_path(source).split(":")[:-1]) if source else ""
        measured = f"--source={shlex.quote(sources)} " if sources else ""
        run = await self.run(
            f"rm -f {data}; {env_prefix(self.roots, **env)} "
            + timed(seconds, f"{PYTHON} -m coverage run --branch {measured}{pytest_args(targets)}"),
            label,
        )
        out = f"{SCRATCH}/coverage.json"
        wanted = ",".join(include)
        made = await self.raw(
            f"rm -f {out}; {env_prefix(self.roots)} {PYTHON} -m coverage json -q -o {out} "
            f"--include={shlex.quote(wanted)} && cat {out}"
        )
        if not made.ok:
            return run, None
        try:
            return run, parse_report(made.output)
        except ReportError:
            return run, None
