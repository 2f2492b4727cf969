"""What a docs run proposes, in words: the commit message and the pull-request title and body."""

from __future__ import annotations

from app.github.protocol import IssueRecord
from app.github.untrusted import commit_line, fenced, inline
from jobs.plan import Plan, limits_line, render_plan_summary
from jobs.runs.proposal import NEVER_MERGES, TITLE_CHARS, failed_first, summary, trace_line
from jobs.runs.workflow import Outcome


def title(issue: IssueRecord) -> str:
    return f"docs: update documentation for #{issue.number}"


def commit_message(issue: IssueRecord) -> str:
    return f"{title(issue)}\n\n{commit_line(issue.title, TITLE_CHARS)}\n\nRefs #{issue.number}"


def body(plan: Plan, issue: IssueRecord, outcome: Outcome, stat: str, run_id: str) -> str:
    """The pull request's body: the plan, a summary, the diff stat, the limits, the run and its trace."""
    return "\n".join(
        [
            *failed_first(plan),
            f"Steward's documentation update for #{issue.number} ({inline(issue.title, TITLE_CHARS)}).",
            "",
            "### Plan",
            *render_plan_summary(plan),
            "",
            "### Summary",
            *summary(outcome),
            "",
            "### Diff stat",
            *fenced(stat),
            "",
            f"**Limits used:** {limits_line(plan.limits)}",
            "",
            trace_line(run_id),
            "",
            NEVER_MERGES,
            "",
            f"Refs #{issue.number}",
        ]
    )
