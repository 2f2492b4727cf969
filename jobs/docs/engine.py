"""The docs workflow's built-in engine: plan what is stale, then apply the approved steps to a workspace."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from app.config.model import DocsConfig
from app.github.protocol import IssueRecord, permission_rank
from jobs.docs.changelog import Entry, add_entry, choose_section
from jobs.docs.execblocks import ExecBlock, Runner, find_blocks, refresh_blocks
from jobs.docs.files import UnsafePath, read_text, writable_files, write_text
from jobs.plan import NOT_ACTED_ON, Plan, PlanStep
from policies.loader import path_allowed
from policies.model import Policy

CHANGELOG_STEP = "changelog"
Status = Literal["done", "unchanged", "dropped", "failed", "skipped"]


@dataclass(frozen=True)
class StepOutcome:
    step_id: str
    status: Status
    detail: str


@dataclass
class DocsOutcome:
    """What apply_docs did: the files it wrote, each step's fate, and what it could not do."""

    changed: list[str] = field(default_factory=list)
    steps: list[StepOutcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def exec_step_id(path: str, block: ExecBlock, occurrence: int) -> str:
    """Stable id of a block: its file, its command, and which same-command block in that file it is."""
    key = f"{path}\0{block.command}\0{occurrence}".encode()
    return "exec-" + hashlib.sha256(key).hexdigest()[:10]


def _blocks_by_id(path: str, text: str) -> tuple[dict[str, ExecBlock], list[str]]:
    blocks, problems = find_blocks(text)
    seen: dict[str, int] = {}
    found = {}
    for block in blocks:
        seen[block.command] = seen.get(block.command, 0) + 1
        found[exec_step_id(path, block, seen[block.command])] = block
    return found, [f"{path} line {p.line}: {p.message}" for p in problems]


def _entry(issue: IssueRecord, config: DocsConfig) -> Entry:
    section = choose_section(issue.labels, config.sections, config.default_section)
    return Entry(issue.number, issue.title, issue.html_url, section)


def _plan_changelog(
    workspace: Path, issue: IssueRecord, config: DocsConfig, policy: Policy
) -> PlanStep | str:
    path = config.changelog
    if not path_allowed(policy, path):
        return f"{path} is outside the paths this run may change"
    text = read_text(workspace, path)
    if text is None and not config.create_changelog:
        return f"{path} does not exist and `create_changelog` is off"
    entry = _entry(issue, config)
    edit = add_entry(text, entry, create=config.create_changelog)
    if not edit.changed:
        return f"{path}: {edit.note}"
    verb = "Create" if text is None else "Update"
    return PlanStep(
        id=CHANGELOG_STEP,
        title=f"{verb} {path}: add #{issue.number} under Unreleased → {entry.section}",
        detail=entry.line,
    )


def plan_docs(
    workspace: Path,
    issue: IssueRecord,
    config: DocsConfig,
    policy: Policy,
    *,
    instructions: str = "",
    base_sha: str = "",
) -> Plan:
    """What the built-in engine would change in this checkout, as a plan to approve (reads only)."""
    steps: list[PlanStep] = []
    notes: list[str] = []
    changelog = _plan_changelog(workspace, issue, config, policy)
    if isinstance(changelog, PlanStep):
        steps.append(changelog)
    else:
        notes.append(changelog)
    for path in writable_files(workspace, policy):
        text = read_text(workspace, path)
        if text is None or "steward:exec" not in text:
            continue
        blocks, problems = _blocks_by_id(path, text)
        notes += problems
        for step_id, block in blocks.items():
            title = f"Refresh the generated block in {path}"
            steps.append(PlanStep(id=step_id, title=title, detail=block.command))
    level = max(policy.approval.level, config.approval.level, key=permission_rank)
    return Plan(
        workflow=policy.workflow,
        number=issue.number,
        steps=steps,
        paths=list(policy.writable),
        denied_paths=list(policy.denied),
        limits=policy.limits,
        permissions=dict(policy.permissions),
        approval_required=policy.approval.required or config.approval.required,
        approval_level=level,
        approval_allow_self=config.approval.allow_self,
        instructions=instructions,
        instructions_note=NOT_ACTED_ON if instructions.strip() else "",
        notes=notes,
        base_sha=base_sha,
    )


def _policy_of(plan: Plan) -> Policy:
    """The plan's own paths as a policy (the always-denied paths come back on validation)."""
    permissions = {k: v for k, v in plan.permissions.items() if v in ("read", "write")}
    return Policy(
        workflow=plan.workflow, permissions=permissions, writable=plan.paths, denied=plan.denied_paths
    )


async def _apply_changelog(
    workspace: Path, issue: IssueRecord, config: DocsConfig, policy: Policy, outcome: DocsOutcome
) -> StepOutcome:
    path = config.changelog
    if not path_allowed(policy, path):
        return StepOutcome(CHANGELOG_STEP, "failed", f"{path} is outside the paths this run may change")
    text = await asyncio.to_thread(read_text, workspace, path)
    edit = add_entry(text, _entry(issue, config), create=config.create_changelog)
    if not edit.changed or edit.text is None:
        return StepOutcome(CHANGELOG_STEP, "unchanged", edit.note)
    try:
        await asyncio.to_thread(write_text, workspace, path, edit.text)
    except (UnsafePath, OSError) as exc:
        return StepOutcome(CHANGELOG_STEP, "failed", str(exc))
    outcome.changed.append(path)
    return StepOutcome(CHANGELOG_STEP, "done", edit.note)


def _on_lines(lines: set[int]) -> Callable[[ExecBlock], bool]:
    return lambda block: block.open_line in lines


async def _apply_blocks(
    workspace: Path, wanted: set[str], policy: Policy, runner: Runner, outcome: DocsOutcome
) -> dict[str, StepOutcome]:
    results: dict[str, StepOutcome] = {}
    for path in await asyncio.to_thread(writable_files, workspace, policy):
        text = await asyncio.to_thread(read_text, workspace, path)
        if text is None or "steward:exec" not in text:
            continue
        blocks, _ = _blocks_by_id(path, text)
        chosen = {block.open_line: step_id for step_id, block in blocks.items() if step_id in wanted}
        if not chosen:
            continue
        refresh = await refresh_blocks(text, runner, select=_on_lines(set(chosen)))
        failures = {p.line - 1: p.message for p in refresh.problems}
        for open_line, step_id in chosen.items():
            failure = failures.get(open_line)
            status: Status = "failed" if failure else "done"
            results[step_id] = StepOutcome(step_id, status, f"{path}: {failure or 'refreshed'}")
        if refresh.changed:
            await asyncio.to_thread(write_text, workspace, path, refresh.text)
            outcome.changed.append(path)
    return results


async def apply_docs(
    workspace: Path, plan: Plan, issue: IssueRecord, config: DocsConfig, runner: Runner
) -> DocsOutcome:
    """Carry out the plan's ticked steps in the workspace; unticked steps are dropped, not done."""
    outcome = DocsOutcome()
    if plan.instructions.strip():
        outcome.notes.append(NOT_ACTED_ON)
    policy = _policy_of(plan)
    kept = {step.id for step in plan.kept()}
    results: dict[str, StepOutcome] = {
        step.id: StepOutcome(step.id, "dropped", "unticked before approval") for step in plan.dropped()
    }
    if CHANGELOG_STEP in kept:
        results[CHANGELOG_STEP] = await _apply_changelog(workspace, issue, config, policy, outcome)
    results |= await _apply_blocks(workspace, kept - {CHANGELOG_STEP}, policy, runner, outcome)
    for step in plan.steps:
        result = results.get(step.id) or StepOutcome(step.id, "skipped", "no longer found in the checkout")
        outcome.steps.append(result)
        if result.status == "failed":
            outcome.problems.append(f"{step.title}: {result.detail}")
    outcome.changed = sorted(set(outcome.changed))
    return outcome
