"""The parts of a pull request's text every workflow shares: the summary of an outcome, the warning when
only part of the plan is proposed, and the run's footer. Each workflow writes its own title, commit message
and body (Workflow.title, commit_message, body) from these."""

from __future__ import annotations

from app.github.untrusted import inline, message
from jobs.plan import Plan
from jobs.runs.workflow import Outcome

TRACE_HINT = "steward runs show {run_id}"
TITLE_CHARS = 200
"""The most of an issue's title repeated in a commit message or a pull-request body."""
DETAIL_CHARS = 500
"""The most of one step's detail or problem (which may quote a command's output) in the body."""
NEVER_MERGES = (
    "Steward never merges: a person with write access reviews this pull request; an approving review "
    "turns the `steward/review` status green."
)


def summary(outcome: Outcome) -> list[str]:
    """One line per step's fate, problem and note, made inert (details may quote the sandbox's output)."""
    lines = [
        f"- `{step.step_id}`: {step.status} ({message(step.detail, DETAIL_CHARS)})" for step in outcome.steps
    ]
    lines += [f"- problem: {message(problem, DETAIL_CHARS)}" for problem in outcome.problems]
    lines += [f"- note: {message(note)}" for note in outcome.notes]
    return lines or ["- nothing to do"]


def failed_first(plan: Plan) -> list[str]:
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


def trace_line(run_id: str) -> str:
    return f"Run `{run_id}` · see the whole trace with `{TRACE_HINT.format(run_id=run_id)}`."
