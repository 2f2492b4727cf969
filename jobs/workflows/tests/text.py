"""The tests workflow's words: commit message, pull-request title and body (outside text made inert)."""

from __future__ import annotations

from app.github.untrusted import code_span, commit_line, fenced, inline, message
from jobs.plan import Plan, limits_line, render_plan_summary
from jobs.runs.workflow import Outcome, WorkItem
from jobs.workflows.tests.measure import FileCoverage
from jobs.workflows.tests.outcome import TestsOutcome

TITLE_CHARS = 200
DETAIL_CHARS = 300


def title(item: WorkItem) -> str:
    return f"tests: add tests for #{item.issue.number}"


def commit_message(item: WorkItem) -> str:
    return f"{title(item)}\n\n{commit_line(item.issue.title, TITLE_CHARS)}\n\nRefs #{item.issue.number}"


def _percent(cov: FileCoverage | None) -> str:
    if cov is None:
        return "not measured"
    return f"{cov.line_percent:.1f}% lines · {cov.branch_percent:.1f}% branches"


def coverage_table(outcome: TestsOutcome) -> list[str]:
    """Per affected file: line and branch coverage before and after."""
    lines = ["| file | before | after |", "| --- | --- | --- |"]
    for path in outcome.affected:
        after = outcome.after.get(path)
        cell = code_span(path).replace("|", "\\|")  # GFM splits a cell at a pipe even inside code
        lines.append(f"| {cell} | {_percent(outcome.before.get(path))} | {_percent(after)} |")
    return lines if outcome.affected else ["_No affected file._"]


def _tests(outcome: TestsOutcome) -> list[str]:
    lines = [
        f"Candidates generated: {outcome.generated} · kept: {len(outcome.kept)} · "
        f"dropped: {len(outcome.dropped)}",
        "",
    ]
    lines += [
        f"- kept {code_span(k.name)} in {code_span(k.file)} (for {code_span(k.path)}): {message(k.gain)}"
        for k in outcome.kept
    ]
    lines += [
        f"- dropped {code_span(d.id)} (for {code_span(d.path)}): **{d.reason}**, "
        f"{message(d.detail, DETAIL_CHARS)}"
        for d in outcome.dropped
    ]
    return lines


def _commands(outcome: TestsOutcome) -> list[str]:
    return [f"- {inline(c.label)}: {c.seconds:.1f} s, exit {c.exit_code}" for c in outcome.commands] or [
        "- none"
    ]


def body(plan: Plan, item: WorkItem, outcome: Outcome, stat: str, run_id: str) -> str:
    """Coverage per file before and after, the kept and dropped tests, the commands and their times."""
    tests = outcome if isinstance(outcome, TestsOutcome) else TestsOutcome()
    problems = [f"- problem: {message(p, DETAIL_CHARS)}" for p in outcome.problems]
    notes = [f"- note: {message(n)}" for n in outcome.notes]
    suite = {True: "passed", False: "**failed**", None: "not run"}[tests.suite_passed]
    if tests.suite_passed and tests.failing_before:
        suite = f"no test fails that passed before ({len(tests.failing_before)} failed before it already)"
    return "\n".join(
        [
            f"Steward's tests for #{item.issue.number} ({inline(item.issue.title, TITLE_CHARS)}).",
            "",
            "### Coverage",
            *coverage_table(tests),
            "",
            "### Tests",
            *_tests(tests),
            "",
            f"The whole suite with the kept tests: {suite}.",
            *problems,
            *notes,
            "",
            "### Commands run",
            *_commands(tests),
            "",
            "### Plan",
            *render_plan_summary(plan),
            "",
            "### Diff stat",
            *fenced(stat),
            "",
            f"**Limits used:** {limits_line(plan.limits)}",
            "",
            f"Run `{run_id}` · see the whole trace with `steward runs show {run_id}`.",
            "",
            "Steward never merges: a person with write access reviews this pull request; an approving review "
            "turns the `steward/review` status green.",
            "",
            f"Refs #{item.issue.number}",
        ]
    )
