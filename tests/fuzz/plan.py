"""The plan checklist: the boxes read back from a rendered plan are its ticked steps, whatever the text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hypothesis import strategies as st

from app.constants import MARKER_PLAN
from jobs.plan import (
    NOT_ACTED_ON,
    STEPS_BEGIN,
    STEPS_END,
    Plan,
    PlanStep,
    SetupStep,
    parse_ticked,
    plan_run_id,
    render_plan,
)
from tests.fuzz.core import Broken, Target, unexpected
from tests.fuzz.text import hostile, one_line, rendered

step_ids = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,63}", fullmatch=True)
steps = st.builds(
    PlanStep,
    id=step_ids,
    title=hostile,
    detail=st.one_of(st.just(""), hostile),
    ticked=st.booleans(),
    result=st.sampled_from(["", "done", "unchanged", "failed"]),
    result_detail=hostile,
)
plans = st.builds(
    Plan,
    workflow=st.sampled_from(["docs", "tests"]),
    number=st.integers(1, 10**9),
    steps=st.lists(steps, max_size=12, unique_by=lambda step: step.id),
    paths=st.lists(one_line, max_size=4),
    denied_paths=st.lists(one_line, max_size=3),
    notes=st.lists(hostile, max_size=3),
    instructions=st.one_of(st.just(""), hostile),
    instructions_note=st.sampled_from(["", NOT_ACTED_ON]),  # Steward's own words, never outside text
    requested_by=one_line,
    approval_allow_self=st.booleans(),
    base_sha=st.from_regex(r"[0-9a-f]{0,40}", fullmatch=True),
    setup=st.one_of(
        st.none(), st.builds(SetupStep, command=hostile, reason=hostile, hosts=st.lists(one_line, max_size=3))
    ),
)
run_ids = st.from_regex(r"r-[0-9a-z-]{1,40}", fullmatch=True)


@dataclass(frozen=True)
class Case:
    plan: Plan
    run_id: str
    untick: frozenset[str]
    """Step ids a person unticks in the comment before approving."""
    crlf: bool
    """GitHub hands the edited body back with CRLF line ends."""


def _case(plan: Plan, run_id: str, picks: list[bool], crlf: bool) -> Case:
    untick = frozenset(step.id for step, pick in zip(plan.steps, picks, strict=False) if pick)
    return Case(plan, run_id, untick, crlf)


cases = st.builds(_case, plans, run_ids, st.lists(st.booleans(), max_size=12), st.booleans())


def _unticked(body: str, ids: frozenset[str]) -> str:
    """The body as GitHub saves it after a click on each of these boxes: `[x]` becomes `[ ]` on that line."""
    lines = body.split("\n")
    for i, line in enumerate(lines):
        if any(line.endswith(f"<!-- steward:step {step} -->") for step in ids):
            lines[i] = line.replace("- [x] ", "- [ ] ", 1)
    return "\n".join(lines)


def check(case: Case) -> None:
    try:
        body = render_plan(case.plan, run_id=case.run_id, state="awaiting_approval")
        read = parse_ticked(body)
        run = plan_run_id(body)
        edited = _unticked(body, case.untick)
        if case.crlf:
            edited = edited.replace("\n", "\r\n")
        after = parse_ticked(edited)
    except Exception as exc:
        raise unexpected(exc, "render_plan or parse_ticked") from exc
    ticked = {step.id for step in case.plan.steps if step.ticked}
    if read != ticked:
        raise Broken(f"rendered with {sorted(ticked)} ticked, read back {sorted(read)}")
    if after != ticked - case.untick:
        raise Broken(
            f"unticking {sorted(case.untick)} left {sorted(after)}, not {sorted(ticked - case.untick)}"
        )
    if run != case.run_id:
        raise Broken(f"the plan's run reads back as {run!r}, not {case.run_id!r}")
    shown = re.sub(r"<code>.*?</code>", "", rendered(body), flags=re.DOTALL)
    comments = re.findall(r"<!--.*?-->", shown, flags=re.DOTALL)
    ours = [STEPS_BEGIN, STEPS_END, *(f"<!-- steward:step {step.id} -->" for step in case.plan.steps)]
    if sorted(comments) != sorted([MARKER_PLAN, f"<!-- steward:plan-run {case.run_id} -->", *ours]):
        raise Broken(f"the rendered plan's hidden comments are not only Steward's: {comments}")


FOUND = (  # a detail quoting the end marker ended the section there: the ticked steps after it were dropped
    Case(
        Plan(workflow="docs", number=1, steps=[
            PlanStep(id="exec-a", title="Run a block", detail="echo '<!-- /steward:steps -->'"),
            PlanStep(id="changelog", title="Add an entry"),
        ]),
        "r-1", frozenset(), False,
    ),
)  # fmt: skip
TARGET = Target("plan checklist", cases, check, FOUND)
