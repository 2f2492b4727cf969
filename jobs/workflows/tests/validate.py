"""Each candidate on its own: it must import and pass, add coverage, and pass 5 runs in a row, or it goes."""

from __future__ import annotations

import random
import shlex
from dataclasses import dataclass
from typing import Literal

from jobs.workflows.tests.candidates import Candidate
from jobs.workflows.tests.measure import Report
from jobs.workflows.tests.sandboxenv import (
    PYTHON,
    SCRATCH,
    TIMED_OUT,
    WORKSPACE,
    env_prefix,
    pytest_args,
    timed,
    write_file,
)
from jobs.workflows.tests.session import Session
from sandbox.base import CommandResult

RUNS = 5
"""Passes in a row a candidate needs (the first one under coverage)."""
Reason = Literal["failed", "flaky", "no new coverage", "too slow", "not portable"]
_NOT_PORTABLE = (WORKSPACE + "/", SCRATCH)
"""Absolute sandbox paths: a test that names them fails anywhere else."""


@dataclass(frozen=True)
class Verdict:
    """What became of one candidate: kept (with what it adds), or dropped and why."""

    candidate: Candidate
    reason: Reason | None
    detail: str
    lines: int = 0
    branches: int = 0
    coverage: Report | None = None

    @property
    def kept(self) -> bool:
        return self.reason is None


def _tail(done: CommandResult) -> str:
    lines = [line for line in done.output.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else f"exit {done.exit_code}"


def _failure(done: CommandResult, run: int, passed: int) -> tuple[Reason, str]:
    if done.exit_code == TIMED_OUT or done.killed_by == "time":
        return "too slow", f"run {run} ran out of time"
    if passed:
        return "flaky", f"passed {passed} run(s), then failed run {run}: {_tail(done)}"
    if done.exit_code in (2, 3, 4, 5):
        return "failed", f"does not collect or import: {_tail(done)}"
    return "failed", _tail(done)


@dataclass
class Validator:
    """Runs candidates one at a time against what is covered so far (the baseline, then each kept test)."""

    session: Session
    affected: list[str]
    covered: Report
    seconds: float
    rng: random.Random

    async def check(self, candidate: Candidate) -> Verdict:
        if any(marker in candidate.source for marker in _NOT_PORTABLE):
            return Verdict(candidate, "not portable", "it names an absolute sandbox path")
        path = f"{SCRATCH}/candidates/{candidate.id}/test_candidate.py"
        await self.session.raw(write_file(path, candidate.source))
        label = f"validate {candidate.id}"
        seed = str(self.rng.randrange(1, 2**31))
        done, report = await self.session.covered(
            [path], self.affected, self.seconds, f"{label}: run 1 under coverage", PYTHONHASHSEED=seed
        )
        if not done.ok:
            reason, detail = _failure(done, 1, 0)
            return Verdict(candidate, reason, detail)
        if report is None:
            return Verdict(candidate, "failed", "coverage.py wrote no report for it")
        lines, branches = report.gain_over(self.covered, self.affected)
        if not lines and not branches:
            return Verdict(candidate, "no new coverage", "covers nothing the suite and kept tests do not")
        for run in range(2, RUNS + 1):
            seed = str(self.rng.randrange(1, 2**31))
            again = await self.session.run(
                f"{env_prefix(self.session.roots, PYTHONHASHSEED=seed)} "
                + timed(self.seconds, f"{PYTHON} {pytest_args([path])}"),
                f"{label}: run {run}",
            )
            if not again.ok:
                reason, detail = _failure(again, run, run - 1)
                return Verdict(candidate, reason, detail)
        self.covered = self.covered.union(report)
        return Verdict(candidate, None, f"+{lines} line(s), +{branches} branch(es)", lines, branches, report)

    async def forget(self, candidate: Candidate) -> None:
        """Remove the candidate's scratch copy."""
        await self.session.raw(f"rm -rf {shlex.quote(f'{SCRATCH}/candidates/{candidate.id}')}")
