"""Why a command stopped, in the words a maintainer would use."""

from __future__ import annotations

from sandbox.base import KillReason
from sandbox.limits import Limits


def _size(n: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n} bytes"


def explain(reason: KillReason, limits: Limits, *, timeout: float, run_budget: bool = False) -> str:
    """One sentence naming the limit, its value, and what to change."""
    if reason == "memory":
        return (
            f"Stopped: the command ran out of memory (limit {_size(limits.memory)}, no swap); the kernel "
            "killed it. Use less memory, or raise `limits.memory` in .github/steward.yml within the "
            "workflow's policy."
        )
    if reason == "processes":
        return (
            f"Stopped: the command tried to run more than {limits.pids} processes and threads at once (a "
            "fork bomb or runaway parallelism); new processes were refused and the command was ended."
        )
    if reason == "disk":
        return (
            f"Stopped: the command ran out of disk space: the workspace may hold {_size(limits.disk)} "
            f"(checkout included) and /tmp and HOME {_size(limits.tmpfs_bytes)} each; writes past that "
            "failed. Write less (clean build artefacts and caches), or raise `limits.disk` in "
            ".github/steward.yml within the workflow's policy."
        )
    if reason == "output":
        return (
            f"Stopped: the command printed more than {_size(limits.output_bytes)} of output; the rest was "
            "cut and the command was ended."
        )
    if run_budget:
        return f"Stopped: the run used up its wall time of {limits.run_timeout:g} seconds."
    return (
        f"Stopped: the command was still running after {timeout:g} seconds (its time limit); it was killed. "
        "Make it faster, or raise `limits.command_timeout` within the workflow's policy."
    )
