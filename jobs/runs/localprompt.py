"""The terminal's answer to a local plan: run it, skip steps (as unticking does on GitHub), or cancel it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from jobs.plan import Plan

Read = Callable[[str], str]
"""input(): raises EOFError at the end of input and KeyboardInterrupt on Ctrl-C."""
Echo = Callable[[str], None]

PROMPT = "Run this plan? [y/N/e(dit)] "
SKIP_PROMPT = "Steps to skip (e.g. 2,3), Enter for none: "
MAX_ANSWERS = 20
"""Unclear answers asked again at most this often (a script piping junk ends, cancelled)."""


@dataclass(frozen=True)
class Answer:
    """What the terminal decided, and how, in the words the ledger records."""

    approved: bool
    reason: str
    skipped: frozenset[str] = frozenset()
    """Ids of the steps dropped, as unticked boxes are on GitHub."""
    interrupted: bool = False


class SkipError(ValueError):
    """A --skip value or a typed answer that names no step of the plan."""


def numbered_steps(plan: Plan, skipped: frozenset[str] = frozenset()) -> list[str]:
    """The steps as the terminal numbers them: `  2. [ ] title (id)`."""
    return [
        f"  {n}. [{' ' if step.id in skipped else 'x'}] {step.title} ({step.id})"
        for n, step in enumerate(plan.steps, start=1)
    ]


def parse_skip(plan: Plan, text: str) -> frozenset[str]:
    """Step numbers or ids, separated by commas or spaces; SkipError names the bad one."""
    ids = [step.id for step in plan.steps]
    chosen: set[str] = set()
    for item in (part for part in re.split(r"[,\s]+", text.strip()) if part):
        if item.isdigit() and 1 <= int(item) <= len(ids):
            chosen.add(ids[int(item) - 1])
        elif item in ids:
            chosen.add(item)
        else:
            raise SkipError(f"{item!r} is not a step of this plan (give 1 to {len(ids)}, or a step id)")
    if ids and chosen == set(ids):
        raise SkipError("that skips every step; to run nothing, answer n")
    return frozenset(chosen)


def _stop(exc: BaseException) -> Answer:
    if isinstance(exc, KeyboardInterrupt):
        return Answer(False, "interrupted (Ctrl-C) at the prompt", interrupted=True)
    return Answer(False, "end of input at the prompt")


def _choose(plan: Plan, read: Read, echo: Echo, skipped: frozenset[str]) -> frozenset[str]:
    echo("\n".join(numbered_steps(plan, skipped)))
    for _ in range(MAX_ANSWERS):
        try:
            return parse_skip(plan, read(SKIP_PROMPT))
        except SkipError as exc:
            echo(f"  {exc}")
    return skipped


def ask(plan: Plan, read: Read, echo: Echo, skipped: frozenset[str] = frozenset()) -> Answer:
    """Ask until the answer is clear; end of input, Ctrl-C and no all cancel the run."""
    try:
        for _ in range(MAX_ANSWERS):
            reply = read(PROMPT).strip().lower()
            if reply in ("y", "yes"):
                how = "confirmed on the terminal" + (", skipping some steps" if skipped else "")
                return Answer(True, how, skipped)
            if reply in ("", "n", "no"):
                return Answer(False, "declined on the terminal")
            if reply in ("e", "edit") and plan.steps:
                skipped = _choose(plan, read, echo, skipped)
                echo("\n".join(["The plan now runs:", *numbered_steps(plan, skipped)]))
            else:
                echo("  answer y (run it), n (cancel it) or e (choose the steps)")
    except (EOFError, KeyboardInterrupt) as exc:
        return _stop(exc)
    return Answer(False, "no clear answer at the prompt")
