"""A run's plan: the steps it will take, where it may write, its limits and token permissions.

It is shown as one GitHub comment (a task list), updated in place as the run moves on; people untick
steps before approving, and `parse_ticked` reads the boxes back by their hidden step ids.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.constants import MARKER_PLAN
from app.github.untrusted import code_span, fenced, inline, message
from jobs.runs.revision.model import RevisionPlan, revision_lines
from policies.budget import Budget
from sandbox.limits import Limits

STEP_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
STEPS_BEGIN = "<!-- steward:steps -->"
STEPS_END = "<!-- /steward:steps -->"
_RUN_MARKER = re.compile(r"<!-- steward:plan-run (r-[0-9a-z-]{1,40}) -->")
_STEP_LINE = re.compile(
    r"^\s*[-*+]\s+\[([ xX])\]\s.*<!--\s*steward:step\s+([a-z0-9][a-z0-9._-]{0,63})\s*-->\s*$"
)
NOT_ACTED_ON = (
    "The built-in engine does not act on free-text instructions; they are recorded here and in the run "
    "ledger for the agent engine."
)


class PlanStep(BaseModel):
    """One box of the plan's task list; the id is stable so edits to the title don't confuse parsing."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=STEP_ID_PATTERN)
    """Stable identifier, carried in a hidden marker beside the box."""
    title: str
    """What the step does, in one line."""
    detail: str = ""
    """Where it acts or what it runs (file paths, the command)."""
    ticked: bool = True
    """Whether the step will run; unticking it before approval drops it."""
    result: str = ""
    """What became of the step once the work ran (`done`, `unchanged`, `failed`, ...); empty before."""
    result_detail: str = ""
    """Why, in a few words (a failure's message)."""


class SetupStep(BaseModel):
    """The install step of a run's plan: the command, why it was chosen, the hosts it may reach."""

    command: str = ""
    """Shell command run in the sandbox's setup phase; empty: no setup phase."""
    reason: str = ""
    """Where it came from, in words (the configuration, or the file it was detected from)."""
    hosts: list[str] = Field(default_factory=list)
    """The egress allowlist: the only hosts the install step may reach."""
    cache_key: str = ""
    """The digest of the dependency files, naming the download cache a second run reuses."""


class AgentPlan(BaseModel):
    """The agent engine's part of a plan: which model, which tools, what it may spend, what it reads first."""

    model: str
    """`provider:name` of the operator's model."""
    tools: list[str] = Field(default_factory=list)
    """The tools offered to the model (the policy's allowlist, then the external servers' allowlisted tools as
    `<server>_<tool>`; nothing else)."""
    mcp_servers: list[str] = Field(default_factory=list)
    """The operator's external MCP servers this run may use (the repository's `mcp_servers`)."""
    budget: Budget = Field(default_factory=Budget)
    memory_file: str = ""
    """The repository's instructions file (`.github/steward.md` or `AGENTS.md`); empty: none."""
    memory_sha: str = ""
    """Its git blob sha at the planned commit."""
    item: dict[str, Any] = Field(default_factory=dict)
    """The issue or pull request as the run read it (title, body, labels, ...), so a replay reads the same."""


class Plan(BaseModel):
    """What a writing run will do, shown to people before it acts."""

    workflow: str
    number: int
    steps: list[PlanStep] = Field(default_factory=list)
    paths: list[str] = Field(default_factory=list)
    """Globs the run may change."""
    denied_paths: list[str] = Field(default_factory=list)
    """Globs the run may never change, whatever the steps say."""
    limits: Limits = Field(default_factory=Limits)
    permissions: dict[str, str] = Field(default_factory=dict)
    """The GitHub permissions of the run's installation token."""
    approval_required: bool = True
    approval_level: str = "write"
    """The least role whose `/steward approve` counts."""
    approval_allow_self: bool = False
    """Whether the person who asked for the run may approve it (the configuration's `allow_self`)."""
    requested_by: str = ""
    """The login that asked for the run (empty for local runs, approved on the terminal)."""
    instructions: str = ""
    """Free text after the command, recorded as data."""
    instructions_note: str = ""
    """What the engine does with the instructions (the built-in engine: nothing)."""
    notes: list[str] = Field(default_factory=list)
    """What the planner saw but will not do, and why (shown under the steps)."""
    base_sha: str = ""
    """The default branch's head when the plan was made."""
    engine: str = "builtin"
    setup: SetupStep | None = None
    """The setup phase's install step (None: planned before setup phases existed, or none at all)."""
    agent: AgentPlan | None = None
    """The agent engine's model, tools and budget (None: the built-in engine)."""
    revision: RevisionPlan | None = None
    """What a revision (`/steward revise`) builds on and reads (None: a first run)."""

    def kept(self) -> list[PlanStep]:
        """Steps that will run."""
        return [step for step in self.steps if step.ticked]

    def dropped(self) -> list[PlanStep]:
        """Steps unticked, which will not run."""
        return [step for step in self.steps if not step.ticked]

    def failed(self) -> list[PlanStep]:
        """Steps that ran and failed."""
        return [step for step in self.steps if step.result == "failed"]

    def with_results(self, results: dict[str, tuple[str, str]]) -> Plan:
        """The plan with each step's outcome (status, detail) by id, as the work left it."""
        steps = [
            step.model_copy(update={"result": results[step.id][0], "result_detail": results[step.id][1]})
            if step.id in results
            else step
            for step in self.steps
        ]
        return self.model_copy(update={"steps": steps})

    def with_ticked(self, ticked: set[str]) -> Plan:
        """The plan with exactly these step ids ticked (as read from the comment at approval time)."""
        steps = [step.model_copy(update={"ticked": step.id in ticked}) for step in self.steps]
        return self.model_copy(update={"steps": steps})


def _text(value: str) -> str:
    """One line of outside text (a path, a note), unable to link, ping, or open a comment or a tag."""
    return inline(value)


def code(value: str) -> str:
    """Inline code that survives backticks in the value."""
    return code_span(value)


def _size(value: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if value >= size and value % size == 0:
            return f"{value // size} {unit}"
    return f"{value} bytes"


def limits_line(limits: Limits) -> str:
    """The limits in words, for plans and pull-request bodies."""
    return (
        f"memory {_size(limits.memory)} · {limits.cpus:g} CPU · {limits.pids} processes · "
        f"{limits.command_timeout:g} s per command · {limits.run_timeout:g} s per run · "
        f"output {_size(limits.output_bytes)} per command · disk {_size(limits.disk)} · "
        "no network while working"
    )


def _step_lines(plan: Plan) -> list[str]:
    lines = [STEPS_BEGIN]
    for step in plan.steps:
        box = "x" if step.ticked else " "
        lines.append(f"- [{box}] {_text(step.title)}{_result(step)} <!-- steward:step {step.id} -->")
        if step.detail:
            lines.append(f"  {code(step.detail)}")
    if not plan.steps:
        lines.append("_Nothing to do: every step the engine looked for is already done._")
    lines.append(STEPS_END)
    return lines


def approver(plan: Plan) -> str:
    """Who may approve, in words: the level, and whether the requester counts."""
    who = f"someone with at least `{plan.approval_level}` access"
    login = re.sub(r"[^A-Za-z0-9\[\]-]", "", plan.requested_by)
    if not login:
        return who
    if plan.approval_allow_self:
        return f"{who} (@{login}, who asked for it, may approve too)"
    return f"{who} other than @{login}, who asked for it (`approval.allow_self` lets the requester approve)"


RESULT_CHARS = 300
"""The most of a step's result detail (a failure may quote a command's output) shown beside it."""


def _result(step: PlanStep) -> str:
    """What became of a step, beside its title: a failure in bold with its reason."""
    if not step.result:
        return ""
    if step.result == "failed":
        return f" · **failed**: {message(step.result_detail, RESULT_CHARS)}"
    return f" · {step.result}"


def step_label(step: PlanStep) -> str:
    """A step's state in one word, for lists without boxes: its result once the work ran."""
    if not step.ticked:
        return "dropped at approval"
    if step.result:
        return "FAILED" if step.result == "failed" else step.result
    return "planned"


def setup_lines(setup: SetupStep | None) -> list[str]:
    """The setup phase in words: the install command, why, and the only hosts it may reach."""
    if setup is None:
        return []
    if not setup.command:
        return [f"**Setup:** none ({message(setup.reason)})"]
    hosts = ", ".join(code(host) for host in setup.hosts) or "none"
    return [
        f"**Setup:** {code(setup.command)} ({message(setup.reason)}); it may reach only: {hosts}; "
        "the work phase after it has no network",
    ]


def budget_line(budget: Budget) -> str:
    """The agent's budget in words."""
    return (
        f"{budget.model_requests} model requests · {budget.input_tokens} input tokens · "
        f"{budget.output_tokens} output tokens · cost {budget.cost:g} · {budget.tool_calls} tool calls · "
        f"{budget.wall_time:g} s"
    )


def agent_lines(agent: AgentPlan | None) -> list[str]:
    """The agent engine in words: the model, the only tools it is offered, its budget, its memory file."""
    if agent is None:
        return []
    lines = [
        f"**Model:** {code(agent.model)} · **tools offered:** "
        + (", ".join(code(tool) for tool in agent.tools) or "none"),
        f"**Budget:** {budget_line(agent.budget)} (the run stops at the first one reached)",
    ]
    if agent.memory_file:
        lines.append(f"**Instructions file:** {code(agent.memory_file)} (blob `{agent.memory_sha[:12]}`)")
    return lines


def render_plan(plan: Plan, *, run_id: str, state: str, status: str = "") -> str:
    """The plan comment; the same plan, run and state always render the same text (safe to re-post)."""
    head = f"### Steward plan: `{plan.workflow}` for #{plan.number}"
    lines = [MARKER_PLAN, f"<!-- steward:plan-run {run_id} -->", head, ""]
    lines.append(
        f"Run `{run_id}` · state **{state}** · {plan.engine} engine" + (f" · {status}" if status else "")
    )
    lines += ["", "Steps (untick a step before approving to drop it):", "", *_step_lines(plan), ""]
    if plan.notes:
        lines += ["Not planned:", *[f"- {message(note)}" for note in plan.notes], ""]
    lines.append("**May change:** " + (", ".join(code(p) for p in plan.paths) or "nothing"))
    if plan.denied_paths:
        lines.append("**Never changes:** " + ", ".join(code(p) for p in plan.denied_paths))
    lines.append(f"**Limits:** {limits_line(plan.limits)}")
    lines += setup_lines(plan.setup)
    lines += agent_lines(plan.agent)
    lines += revision_lines(plan.revision)
    perms = ", ".join(f"{name}: {level}" for name, level in sorted(plan.permissions.items()))
    lines.append(f"**Token permissions:** {perms or 'none'} (this repository only)")
    if plan.base_sha:
        lines.append(f"**Based on:** `{plan.base_sha[:12]}` (the default branch when the plan was made)")
    if plan.instructions:
        lines += ["", "**Instructions given:**", *fenced(plan.instructions)]
        if plan.instructions_note:
            lines.append(f"_{plan.instructions_note}_")
    if plan.approval_required:
        lines += ["", f"To run it: `/steward approve` from {approver(plan)}."]
    return "\n".join(lines) + "\n"


def _why(step: PlanStep) -> str:
    return f" ({message(step.result_detail, RESULT_CHARS)})" if step.result == "failed" else ""


def render_plan_summary(plan: Plan) -> list[str]:
    """The plan as plain Markdown lines for a pull-request body: no boxes to tick, no hidden markers."""
    lines = [f"- {step_label(step)}: {_text(step.title)}{_why(step)}" for step in plan.steps]
    lines.append("- may change: " + (", ".join(code(p) for p in plan.paths) or "nothing"))
    lines.append(f"- limits: {limits_line(plan.limits)}")
    perms = ", ".join(f"{name}: {level}" for name, level in sorted(plan.permissions.items()))
    lines.append(f"- token permissions: {perms or 'none'}")
    if plan.instructions:
        lines.append(
            f"- instructions recorded: {code(plan.instructions[:300])}"
            + (f" ({plan.instructions_note})" if plan.instructions_note else "")
        )
    return lines


def plan_run_id(body: str) -> str | None:
    """The run a plan comment belongs to (from its hidden marker)."""
    if MARKER_PLAN not in body:
        return None
    match = _RUN_MARKER.search(body)
    return match.group(1) if match else None


def parse_ticked(body: str) -> set[str]:
    """The ids of the steps ticked in the comment as it stands; a removed line counts as unticked.

    The section's markers count only as whole lines, as `render_plan` writes them: a step's detail (a path,
    a command from the repository) quoting `<!-- /steward:steps -->` must not end the section early.
    """
    lines = body.replace("\r\n", "\n").split("\n")
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == STEPS_BEGIN)
    except StopIteration:
        return set()
    ticked: set[str] = set()
    for line in lines[start + 1 :]:
        if line.strip() == STEPS_END:
            return ticked
        match = _STEP_LINE.match(line)
        if match and match.group(1) in "xX":
            ticked.add(match.group(2))
    return set()  # no end marker: the comment was cut or mangled, so no box counts
