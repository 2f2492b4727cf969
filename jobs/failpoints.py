"""Named failpoints at each step of a run, for the fault matrix (tests/test_fault_matrix.py).

Armed only by the operator's environment, read once when the process starts:

    STEWARD_FAILPOINTS="clone=kill,pr=pause"        # which step does what
    STEWARD_FAILPOINTS_STATE=/tmp/some-dir           # where firings and pauses are recorded (optional)

Nothing a webhook, comment or repository says can arm one: the names are a fixed set and the spec comes only
from the environment. Unset (the product's case), `hit` is one falsy check and returns.

Each armed failpoint fires once: per state directory when one is set (so a worker killed at `clone` and
started again does not die there again), else per process. The actions:
- `kill`: the process sends itself SIGKILL (no cleanup, no finally, as a dead machine);
- `raise`: raises FailpointError, an unexpected error the step did not foresee;
- `pause`: blocks until the file `<state>/<name>.go` appears (having written `<state>/<name>.paused`, so a
  test knows when to inject its outside fault), at most PAUSE_LIMIT seconds; `pause:2.5` sleeps 2.5 s.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import anyio

ENV = "STEWARD_FAILPOINTS"
STATE_ENV = "STEWARD_FAILPOINTS_STATE"
STEPS = ("plan", "clone", "setup", "work", "diff", "push", "pr", "status", "result")
"""The run's steps in order: plan comment, clone, setup phase, work phase, diff check, commit and push, PR,
status, result comment."""
ACTIONS = ("kill", "raise", "pause")
PAUSE_LIMIT = 120.0


class FailpointError(RuntimeError):
    """What an armed `raise` failpoint raises."""


@dataclass(frozen=True)
class Armed:
    action: str
    seconds: float | None = None


def parse(spec: str) -> dict[str, Armed]:
    """`name=action[:seconds],...` as armed failpoints; a wrong name or action is an error, not ignored (a
    typo would otherwise pass a fault test that injected nothing)."""
    armed: dict[str, Armed] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, action = part.partition("=")
        name, action = name.strip(), action.strip()
        verb, _, arg = action.partition(":")
        if not sep or name not in STEPS or verb not in ACTIONS:
            raise ValueError(f"{ENV}: `{part}` is not step=action (steps {STEPS}, actions {ACTIONS})")
        seconds = None
        if arg:
            if verb != "pause":
                raise ValueError(f"{ENV}: only pause takes seconds, not `{part}`")
            seconds = float(arg)
        armed[name] = Armed(verb, seconds)
    return armed


_ARMED: dict[str, Armed] = parse(os.environ.get(ENV, ""))
_FIRED: set[str] = set()


def _state() -> Path | None:
    where = os.environ.get(STATE_ENV)
    return Path(where) if where else None


def _first_time(name: str) -> bool:
    """Mark the failpoint fired; False when it had fired already (in this process, or in the state dir)."""
    if name in _FIRED:
        return False
    _FIRED.add(name)
    state = _state()
    if state is None:
        return True
    state.mkdir(parents=True, exist_ok=True)
    try:
        (state / f"{name}.fired").open("x").close()
    except FileExistsError:
        return False
    return True


async def hit(name: str) -> None:
    """The step `name` is about to act: do what its failpoint says, if one is armed (once)."""
    if not _ARMED:
        return
    armed = _ARMED.get(name)
    if armed is None or not _first_time(name):
        return
    if armed.action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if armed.action == "raise":
        raise FailpointError(f"failpoint {name} raised")
    await _pause(name, armed.seconds)


async def _pause(name: str, seconds: float | None) -> None:
    if seconds is not None:
        await anyio.sleep(seconds)
        return
    state = _state()
    if state is None:
        raise FailpointError(f"failpoint {name}: pause without seconds needs {STATE_ENV}")
    (state / f"{name}.paused").touch()
    go = state / f"{name}.go"
    deadline = time.monotonic() + PAUSE_LIMIT
    while time.monotonic() < deadline:
        if go.exists():
            return
        await anyio.sleep(0.05)


def arm(spec: str) -> None:
    """Arm failpoints in this process (tests that run the worker in-process); '' disarms them all."""
    _ARMED.clear()
    _ARMED.update(parse(spec))
    _FIRED.clear()
