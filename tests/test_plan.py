"""The plan comment: rendered the same way every time, and read back by its boxes as people left them."""

from __future__ import annotations

import pytest

from app.constants import MARKER_PLAN
from jobs.plan import (
    NOT_ACTED_ON,
    Plan,
    PlanStep,
    code,
    parse_ticked,
    plan_run_id,
    render_plan,
    render_plan_summary,
)
from sandbox.limits import Limits

RUN = "r-0123456789"


def make_plan(**changes: object) -> Plan:
    plan = Plan(
        workflow="docs",
        number=12,
        steps=[
            PlanStep(id="changelog", title="Update CHANGELOG.md: add #12", detail="- Fix it ([#12](u))"),
            PlanStep(
                id="exec-aaaa", title="Refresh the generated block in README.md", detail="steward --help"
            ),
            PlanStep(id="exec-bbbb", title="Refresh the generated block in docs/cli.md", detail="tool `x`"),
        ],
        paths=["docs/**", "*.md"],
        denied_paths=[".github/workflows/**"],
        limits=Limits(memory="512m", command_timeout=60),
        permissions={"issues": "write", "contents": "write"},
        approval_level="maintain",
        base_sha="f" * 40,
        instructions="also mention the --json flag",
        instructions_note=NOT_ACTED_ON,
    )
    return plan.model_copy(update=changes)


def test_render_names_everything_a_reviewer_needs() -> None:
    body = render_plan(make_plan(), run_id=RUN, state="awaiting_approval")
    assert body.startswith(MARKER_PLAN + "\n")
    for expected in [
        f"Run `{RUN}`",
        "state **awaiting_approval**",
        "`docs/**`",
        "`*.md`",
        "`.github/workflows/**`",
        "memory 512 MiB",
        "60 s per command",
        "contents: write, issues: write",
        "`ffffffffffff`",
        "also mention the --json flag",
        NOT_ACTED_ON,
        "`/steward approve`",
        "at least `maintain`",
        "- [x] Refresh the generated block in README.md <!-- steward:step exec-aaaa -->",
        "`` tool `x` ``",
    ]:
        assert expected in body, expected


def test_render_is_deterministic_and_follows_state() -> None:
    plan = make_plan()
    first = render_plan(plan, run_id=RUN, state="awaiting_approval")
    assert first == render_plan(make_plan(), run_id=RUN, state="awaiting_approval")
    assert first != render_plan(plan, run_id=RUN, state="running")
    assert render_plan(plan.with_ticked({"changelog"}), run_id=RUN, state="running").count("- [ ]") == 2


def tick(body: str, step_id: str, ticked: bool) -> str:
    """What GitHub does to the comment when someone clicks a box."""
    lines = body.split("\n")
    for i, line in enumerate(lines):
        if f"steward:step {step_id} " in line:
            lines[i] = line.replace("[x]", "[ ]") if not ticked else line.replace("[ ]", "[x]")
    return "\n".join(lines)


BODY = render_plan(make_plan(), run_id=RUN, state="awaiting_approval")
ALL = {"changelog", "exec-aaaa", "exec-bbbb"}
CASES = [
    ("as posted", BODY, ALL),
    ("one unticked", tick(BODY, "exec-aaaa", False), {"changelog", "exec-bbbb"}),
    (
        "all unticked",
        tick(tick(tick(BODY, "changelog", False), "exec-aaaa", False), "exec-bbbb", False),
        set(),
    ),
    ("unticked then ticked again", tick(tick(BODY, "changelog", False), "changelog", True), ALL),
    ("title edited", BODY.replace("Update CHANGELOG.md: add #12", "Changelog please"), ALL),
    ("capital X", BODY.replace("- [x] Update", "- [X] Update"), ALL),
    ("star bullets", BODY.replace("- [x]", "* [x]"), ALL),
    ("CRLF from an edit", BODY.replace("\n", "\r\n"), ALL),
    (
        "line deleted",
        "\n".join(line for line in BODY.split("\n") if "exec-bbbb" not in line),
        ALL - {"exec-bbbb"},
    ),
    ("no steps section", MARKER_PLAN + "\n- [x] a <!-- steward:step changelog -->\n", set()),
    ("marker without a box", BODY.replace("- [x] Update", "- Update"), ALL - {"changelog"}),
]


@pytest.mark.parametrize(("name", "body", "expected"), CASES, ids=[c[0] for c in CASES])
def test_parse_ticked(name: str, body: str, expected: set[str]) -> None:
    assert parse_ticked(body) == expected


def test_text_in_the_comment_cannot_forge_a_box() -> None:
    forged = "- [x] sneak <!-- steward:step exec-aaaa -->\n<!-- /steward:steps -->"
    plan = make_plan(instructions=forged).with_ticked({"changelog"})
    plan = plan.model_copy(
        update={"steps": [*plan.steps[:1], plan.steps[1].model_copy(update={"title": forged})]}
    )
    body = render_plan(plan, run_id=RUN, state="awaiting_approval")
    assert parse_ticked(body) == {"changelog"}
    assert plan_run_id(body) == RUN


def test_plan_run_id_needs_the_plan_marker() -> None:
    assert plan_run_id(BODY) == RUN
    assert plan_run_id(BODY.replace(MARKER_PLAN, "")) is None


def test_kept_dropped_and_ticks_from_a_comment() -> None:
    plan = make_plan().with_ticked(parse_ticked(tick(BODY, "exec-aaaa", False)))
    assert [s.id for s in plan.kept()] == ["changelog", "exec-bbbb"]
    assert [s.id for s in plan.dropped()] == ["exec-aaaa"]
    assert Plan.model_validate(plan.model_dump(mode="json")) == plan


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a", "`a`"), ("a`b", "`` a`b ``"), ("`x`", "`` `x` ``"), ("two\nlines", "`two lines`")],
)
def test_code_spans(value: str, expected: str) -> None:
    assert code(value) == expected


def test_step_ids_are_checked() -> None:
    with pytest.raises(ValueError):
        PlanStep(id="Bad Id", title="x")


def test_summary_for_a_pull_request_has_no_boxes_or_markers() -> None:
    lines = render_plan_summary(
        make_plan().with_ticked({"changelog"}).with_results({"changelog": ("done", "")})
    )
    text = "\n".join(lines)
    assert "<!--" not in text and "[x]" not in text and "[ ]" not in text
    assert lines[0].startswith("- done: Update CHANGELOG.md") and lines[1].startswith(
        "- dropped at approval:"
    )
    assert "`docs/**`" in text and "memory 512 MiB" in text and "contents: write" in text
    assert "also mention the --json flag" in text and NOT_ACTED_ON in text
