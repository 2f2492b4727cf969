"""A revision's one result comment: what changed for each review comment, and what was refreshed."""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.github.untrusted import code_span, message
from jobs.agent.task import AgentResult
from jobs.plan import Plan
from jobs.runs.revision.agent import reported
from jobs.runs.revision.model import ReviewNote, RevisionPlan, is_note_step, pushed_line
from jobs.runs.workflow import StepOutcome
from sandbox.diffcheck import FileChange

MARKER_PREFIX = "<!-- steward:revision"
BUILTIN_ANSWER = (
    "not acted on: the built-in engine does not act on review text (it refreshed what it generated)"
)


_LINK = re.compile(r"^https://[^\s()<>\[\]]+$")


def result_marker(run_id: str) -> str:
    return f"{MARKER_PREFIX} {run_id} -->"


def without_notes(plan: Plan) -> Plan:
    """The plan as the workflow's own work step reads it: the comment steps are the lifecycle's."""
    return plan.model_copy(update={"steps": [step for step in plan.steps if not is_note_step(step.id)]})


def kept_notes(plan: Plan) -> tuple[ReviewNote, ...]:
    """The comments the approved plan addresses (the agent's; the built-in engine addresses none)."""
    if plan.revision is None or plan.agent is None:
        return ()
    kept = {step.id for step in plan.kept()}
    return tuple(note for note in plan.revision.notes if note.id in kept)


def _touched(note: ReviewNote, found: Sequence[FileChange]) -> str:
    hits = [change for change in found if note.path and change.path == note.path]
    return ", ".join(f"{code_span(c.path)} +{c.added} -{c.removed}" for c in hits)


def note_outcomes(plan: Plan, found: Sequence[FileChange], agent: AgentResult | None) -> list[StepOutcome]:
    """Each comment step's fate: its file changed or not, with the agent's own line about it."""
    if plan.revision is None or plan.agent is None:
        return []
    said = reported(agent.text if agent is not None else "", {note.id for note in plan.revision.notes})
    kept = {step.id for step in plan.kept()}
    outcomes = []
    for note in plan.revision.notes:
        if note.id not in kept:
            outcomes.append(StepOutcome(note.id, "dropped", "unticked before approval"))
            continue
        touched = _touched(note, found)
        words = said.get(note.id, "")
        detail = "; ".join(part for part in (f"changed {touched}" if touched else "", words) if part)
        status = "done" if touched or words else "unchanged"
        outcomes.append(StepOutcome(note.id, status, detail or "the agent said nothing about it"))
    return outcomes


def _answer(note: ReviewNote, plan: Plan) -> str:
    if plan.agent is None:
        return BUILTIN_ANSWER
    step = next((s for s in plan.steps if s.id == note.id), None)
    if step is None or not step.result:
        return "not reached"
    return f"{step.result}: {message(step.result_detail, 600)}"


def _step_line(title: str, result: str, detail: str) -> str:
    """A refreshed step, its fate and why (where its files went: rewritten in place, or a person's kept)."""
    why = f" ({message(detail, 600)})" if detail else ""
    return f"- {message(title, 200)}: {result or 'planned'}{why}"


def result_body(run_id: str, plan: Plan, commit: str, revision: RevisionPlan) -> str:
    """The comment: the commit, one line per review comment, the refreshed steps, people's commits."""
    lines = [
        f"### Steward revision: run `{run_id}` (revises `{revision.parent}`)",
        "",
        f"New commit `{commit[:12]}` on {code_span(revision.branch)}, on top of the branch as it stood; no "
        "new pull request. The `steward/review` status is pending again until an approving review of it.",
        "",
    ]
    base = revision.base
    if base is not None and base.merge:
        lines += [
            f"**Base moved:** {code_span(base.ref)} had moved from `{base.since[:12]}` to `{base.to[:12]}`; "
            f"merge commit `{base.merge[:12]}` brings it into the branch, and the refreshed steps below "
            "were made on top of it.",
            "",
        ]
    if revision.pushed:
        lines += [pushed_line(revision.pushed, revision.branch), ""]
    lines.append("**Review comments:**" if revision.notes else "**Review comments:** none were left to read.")
    for note in revision.notes:
        link = f" ([link]({note.url}))" if _LINK.match(note.url) else ""
        lines.append(f"- {note.where()}{link}: {_answer(note, plan)}")
    refreshed = [step for step in plan.steps if not is_note_step(step.id)]
    if refreshed:
        lines += ["", "**Steps:**"]
        lines += [_step_line(step.title, step.result, step.result_detail) for step in refreshed]
    lines += ["", f"Trace: `steward runs show {run_id}`."]
    return "\n".join(lines) + "\n"
