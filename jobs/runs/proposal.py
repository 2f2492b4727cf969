"""What a run proposes, in words: the commit message and the pull-request title and body."""

from __future__ import annotations

from app.github.protocol import IssueRecord
from app.github.untrusted import commit_line, fenced, inline, message
from jobs.docs.engine import DocsOutcome
from jobs.plan import Plan, limits_line, render_plan_summary

TRACE_HINT = "steward runs show {run_id}"
TITLE_CHARS = 200
"""The most of an issue's title repeated in a commit message or a pull-request body."""
DETAIL_CHARS = 500
"""The most of one step's detail or problem (which may quote a command's output) in the body."""


def title(issue: IssueRecord) -> str:
    return f"docs: update documentation for #{issue.number}"


def commit_message(issue: IssueRecord) -> str:
    return f"{title(issue)}\n\n{commit_line(issue.title, TITLE_CHARS)}\n\nRefs #{issue.number}"


def _summary(outcome: DocsOutcome) -> list[str]:
    lines = [
        f"- `{step.step_id}`: {step.status} ({message(step.detail, DETAIL_CHARS)})" for step in outcome.steps
    ]
    lines += [f"- problem: {message(problem, DETAIL_CHARS)}" for problem in outcome.problems]
    lines += [f"- note: {message(note)}" for note in outcome.notes]
    return lines or ["- nothing to do"]


def _failed_first(plan: Plan) -> list[str]:
    """A proposal that holds only part of the plan says so before anything else."""
    failed = plan.failed()
    if not failed:
        return []
    names = ", ".join(inline(step.title) for step in failed)
    return [
        f"> [!WARNING]\n> **{len(failed)} step(s) of the plan failed**, so this pull request holds only the "
        f"others: {names}. The summary below says why.",
        "",
    ]


def body(plan: Plan, issue: IssueRecord, outcome: DocsOutcome, stat: str, run_id: str) -> str:
    """The pull request's body: the plan, a summary, the diff stat, the limits, the run and its trace."""
    return "\n".join(
        [
            *_failed_first(plan),
            f"Steward's documentation update for #{issue.number} ({inline(issue.title, TITLE_CHARS)}).",
            "",
            "### Plan",
            *render_plan_summary(plan),
            "",
            "### Summary",
            *_summary(outcome),
            "",
            "### Diff stat",
            *fenced(stat),
            "",
            f"**Limits used:** {limits_line(plan.limits)}",
            "",
            f"Run `{run_id}` · see the whole trace with `{TRACE_HINT.format(run_id=run_id)}`.",
            "",
            "Steward never merges: a person with write access reviews this pull request; an approving review "
            "turns the `steward/review` status green.",
            "",
            f"Refs #{issue.number}",
        ]
    )
