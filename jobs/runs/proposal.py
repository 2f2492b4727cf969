"""What a run proposes, in words: the commit message and the pull-request title and body."""

from __future__ import annotations

from app.github.protocol import IssueRecord
from jobs.docs.engine import DocsOutcome
from jobs.plan import Plan, limits_line, render_plan_summary

TRACE_HINT = "steward runs show {run_id}"


def title(issue: IssueRecord) -> str:
    return f"docs: update documentation for #{issue.number}"


def commit_message(issue: IssueRecord) -> str:
    return f"{title(issue)}\n\n{issue.title}\n\nRefs #{issue.number}"


def _summary(outcome: DocsOutcome) -> list[str]:
    lines = [f"- `{step.step_id}`: {step.status} ({step.detail})" for step in outcome.steps]
    lines += [f"- problem: {problem}" for problem in outcome.problems]
    lines += [f"- note: {note}" for note in outcome.notes]
    return lines or ["- nothing to do"]


def body(plan: Plan, issue: IssueRecord, outcome: DocsOutcome, stat: str, run_id: str) -> str:
    """The pull request's body: the plan, a summary, the diff stat, the limits, the run and its trace."""
    return "\n".join(
        [
            f"Steward's documentation update for #{issue.number} ({issue.title}).",
            "",
            "### Plan",
            *render_plan_summary(plan),
            "",
            "### Summary",
            *_summary(outcome),
            "",
            "### Diff stat",
            "```text",
            stat,
            "```",
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
