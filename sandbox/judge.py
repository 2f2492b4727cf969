"""Decide which limit, if any, stopped a command: kernel counters first, then our own timer and cap."""

from __future__ import annotations

from sandbox.base import CommandResult, KillReason
from sandbox.cgroup import Counters
from sandbox.execution import RawOutcome

_PIDS_ERROR = "resource temporarily unavailable"
_DISK_ERROR = "no space left on device"  # strerror(ENOSPC), as shells, coreutils and Python print it
_CAUSES: tuple[KillReason | None, ...] = ("memory", "processes")
"""What the kernel counted is the cause even when the disk filled too; anything else is a symptom of it."""


def judge(raw: RawOutcome, before: Counters | None, after: Counters | None) -> KillReason | None:
    """Memory beats processes beats output beats time: the first is the cause, the later ones the symptom."""
    failed = raw.timed_out or raw.cut or raw.start_error is not None or raw.exit_code != 0
    if not failed:
        return None
    if before is not None and after is not None:
        if after.oom_kills > before.oom_kills:
            return "memory"
        if after.pids_refusals > before.pids_refusals:
            return "processes"
    elif raw.start_error and _PIDS_ERROR in raw.start_error.lower():
        return "processes"
    if raw.cut:
        return "output"
    if raw.timed_out:
        return "time"
    return None


def out_of_disk(result: CommandResult, *, quota_full: bool) -> bool:
    """The workspace quota is full (even if a pipe hid the failed write), or a failed command saw ENOSPC."""
    if result.killed_by in _CAUSES:
        return False
    if quota_full:
        return True
    return not result.ok and _DISK_ERROR in result.output[-64 * 1024 :].lower()
