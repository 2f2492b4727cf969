"""Wrap a command runner so every command it runs becomes a step in the run's ledger."""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable

from jobs.ledger.records import RecordsMixin
from sandbox.base import CommandResult

Runner = Callable[[list[str]], Awaitable[CommandResult]]


def recorded(runner: Runner, ledger: RecordsMixin, run_id: str, name: str = "exec") -> Runner:
    """The same runner, recording command, exit code, duration, CPU, output digest and kill reason per call.

    Each step's wall and CPU time go into the run's cost as the step is recorded.
    """

    async def run(argv: list[str]) -> CommandResult:
        step_id = await ledger.add_step(run_id, name, shlex.join(argv))
        try:
            result = await runner(argv)
        except BaseException as exc:  # cancelled or broken: the step still ends, saying why
            aborted = f"aborted: {type(exc).__name__}"
            await ledger.finish_step(step_id, None, b"", kill_reason=aborted, cpu_seconds=0.0)
            raise
        kill = f"{result.killed_by}: {result.explanation}".rstrip(": ") if result.killed_by else None
        # Every sandbox step is charged: its wall time always, its CPU when the cgroup could say.
        cpu = result.cpu_seconds if result.cpu_seconds is not None else 0.0
        await ledger.finish_step(
            step_id, result.exit_code, result.output, result.duration, kill, cpu_seconds=cpu
        )
        return result

    return run
