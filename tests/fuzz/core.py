"""A fuzz target, its tally, and the one runner the tests and the bench share.

A target's `check` gets one drawn case and raises a `Finding` (a crash, a 5xx, a leaked secret, a broken
property) or returns. The tests run it strict (the first finding fails the test and Hypothesis shrinks it);
the bench runs it counting (every finding is tallied and the run goes on to the full count).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

CASES_ENV = "STEWARD_FUZZ_CASES"
"""Cases per target: tests/test_fuzz.py reads it (default CI_CASES), bench/fuzz.py too (default 10,000)."""
CI_CASES = 100
BENCH_CASES = 10_000


def cases_from_env(default: int = CI_CASES) -> int:
    return int(os.environ.get(CASES_ENV, "") or default)


class Finding(AssertionError):
    """What a target found; `kind` is the column of the bench's table it counts in."""

    kind = "broken"


class Crash(Finding):
    """The code under test raised something it does not document."""

    kind = "crash"


class ServerError(Finding):
    """An HTTP answer of 5xx."""

    kind = "5xx"


class Leak(Finding):
    """A secret in an answer's body or headers."""

    kind = "leak"


class Broken(Finding):
    """A documented property does not hold (a round trip, a bound, inert text)."""

    kind = "broken"


@dataclass
class Tally:
    """What one target's run found."""

    name: str
    cases: int = 0
    found: dict[str, int] = field(default_factory=lambda: {"crash": 0, "5xx": 0, "leak": 0, "broken": 0})
    first: dict[str, str] = field(default_factory=dict)
    """The first finding of each kind, in words (the bench prints it)."""
    slowest: float = 0.0
    slowest_case: str = ""
    seconds: float = 0.0

    def add(self, finding: Finding) -> None:
        self.found[finding.kind] += 1
        self.first.setdefault(finding.kind, str(finding)[:500])


@dataclass
class Target:
    """One thing fuzzed: how its cases are drawn and what must hold for each."""

    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], None]
    examples: tuple[Any, ...] = ()
    """Cases that once found something: run first, every time, at any count (Hypothesis's @example)."""


def unexpected(exc: BaseException, what: str) -> Crash:
    return Crash(f"{what} raised {type(exc).__name__}: {exc}")


def run(target: Target, cases: int, *, strict: bool) -> Tally:
    """Run `cases` cases of the target; strict: raise the first finding (shrunk), else count them all."""
    tally = Tally(target.name)

    def one(case: Any) -> None:
        tally.cases += 1
        started = time.perf_counter()
        try:
            target.check(case)
        except Finding as finding:
            if strict:
                raise
            tally.add(finding)
        finally:
            took = time.perf_counter() - started
            if took > tally.slowest:
                tally.slowest, tally.slowest_case = took, repr(case)[:300]

    phases = (Phase.explicit, Phase.generate, Phase.shrink) if strict else (Phase.explicit, Phase.generate)
    checked = given(target.strategy)(one)
    for case in target.examples:
        checked = example(case)(checked)
    test = settings(
        max_examples=cases,
        deadline=None,
        database=None,
        derandomize=False,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        print_blob=strict,
    )(checked)
    started = time.perf_counter()
    test()
    tally.seconds = time.perf_counter() - started
    return tally
