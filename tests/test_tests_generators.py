"""Pynguin's command line as the engine builds it: every phase of Pynguin bounded inside its `timeout`."""

from __future__ import annotations

import re

import pytest

from jobs.workflows.tests.candidates import Target
from jobs.workflows.tests.generators import Pynguin
from sandbox.base import CommandResult

pytestmark = pytest.mark.anyio


async def test_pynguin_bounds_its_assertion_generation_so_it_writes_tests_before_timeout_stops_it() -> None:
    seen: list[str] = []

    async def run(command: str, label: str = "") -> CommandResult:
        seen.append(command)
        return CommandResult(exit_code=0, output="def test_case_0():\n    assert True\n", duration=0.1)

    made = await Pynguin().generate(Target("pkg/calc.py", "pkg.calc", "."), ["."], 60, run)
    assert made.candidates
    command = next(c for c in seen if "--module-name" in c)
    limit = int(re.search(r"timeout -k \d+ (\d+) ", command)[1])  # type: ignore[index]
    search = int(re.search(r"--maximum-search-time (\d+)", command)[1])  # type: ignore[index]
    mutation = re.search(r"--maximum-mutation-time (\d+)", command)
    assert mutation is not None, "Pynguin's mutation analysis is unbounded by default"
    assert int(mutation[1]) > 0 and search + int(mutation[1]) < limit
