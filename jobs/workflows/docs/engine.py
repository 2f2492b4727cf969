"""The docs workflow's built-in engine: plan what is stale, then apply the approved steps to a workspace."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.config.model import DocsConfig
from app.github.protocol import IssueRecord, permission_rank
from jobs.plan import NOT_ACTED_ON, Plan, PlanStep
from jobs.runs.workflow import Outcome, StepOutcome
from jobs.workflows.docs.changelog import Entry, add_entry, choose_section
from jobs.workflows.docs.execblocks import ExecBlock, Runner, find_blocks, refresh_blocks
from jobs.workflows.docs.files import UnsafePath, read_text, writable_files, write_text
from policies.loader import path_allowed
from policies.model import Policy

CHANGELOG_STEP = "changelog"
Status = Literal["done", "unchanged", "dropped", "failed", "skipped"]


@dataclass
class DocsOutcome(Outcome):
    """What apply_docs did: the files it wrote, each step's fate, and what it could not do (the seam's
    Outcome, under the name the docs engine has always used)."""


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


def block_title(path: str) -> str:
    """The plan's title of a block step (apply maps a file it cannot read back to its steps by it)."""
    return f"Refresh the generated block in {path}"


def _plan_changelog(
    workspace: Path, issue: IssueRecord, config: DocsConfig, policy: Policy
) -> PlanStep | str:
    path = config.changelog
    if not path_allowed(policy, path):
        return f"{path} is outside the paths this run may change"
    try:
        text = read_text(workspace, path)
    except (UnsafePath, OSError) as exc:
        return f"the changelog is left alone: {_reason(path, exc)}"
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


def _reason(path: str, exc: OSError | UnsafePath) -> str:
    """What went wrong with a file, in one line that names it."""
    if isinstance(exc, UnsafePath):
        return str(exc)
    return f"{path}: {exc.strerror or exc}"


def _readable(workspace: Path, path: str, notes: list[str]) -> str | None:
    """A file's text for planning; a file the host refuses to read becomes a note, not a crash."""
    try:
        return read_text(workspace, path)
    except (UnsafePath, OSError) as exc:
        notes.append(f"skipped: {_reason(path, exc)}")
        return None


def _block_steps(workspace: Path, policy: Policy, git_dir: Path | None, notes: list[str]) -> list[PlanStep]:
    try:
        paths = writable_files(workspace, policy, git_dir)
    except (UnsafePath, OSError) as exc:
        notes.append(f"generated blocks were not looked for: {_reason(str(workspace), exc)}")
        return []
    steps = []
    for path in paths:
        text = _readable(workspace, path, notes)
        if text is None or "steward:exec" not in text:
            continue
        blocks, problems = _blocks_by_id(path, text)
        notes += problems
        steps += [PlanStep(id=i, title=block_title(path), detail=b.command) for i, b in blocks.items()]
    return steps


def plan_docs(
    workspace: Path,
    issue: IssueRecord,
    config: DocsConfig,
    policy: Policy,
    *,
    instructions: str = "",
    base_sha: str = "",
    git_dir: Path | None = None,
) -> Plan:
    """What the built-in engine would change in this checkout, as a plan to approve (reads only).

    `git_dir` is the checkout's repository, named explicitly; without one, every regular file counts.
    """
    steps: list[PlanStep] = []
    notes: list[str] = []
    changelog = _plan_changelog(workspace, issue, config, policy)
    if isinstance(changelog, PlanStep):
        steps.append(changelog)
    else:
        notes.append(changelog)
    steps += _block_steps(workspace, policy, git_dir, notes)
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
    try:
        text = await asyncio.to_thread(read_text, workspace, path)
    except (UnsafePath, OSError) as exc:
        return StepOutcome(CHANGELOG_STEP, "failed", f"could not read it: {_reason(path, exc)}")
    edit = add_entry(text, _entry(issue, config), create=config.create_changelog)
    if not edit.changed or edit.text is None:
        return StepOutcome(CHANGELOG_STEP, "unchanged", edit.note)
    try:
        await asyncio.to_thread(write_text, workspace, path, edit.text)
    except (UnsafePath, OSError) as exc:
        return StepOutcome(CHANGELOG_STEP, "failed", f"could not write it: {_reason(path, exc)}")
    outcome.changed.append(path)
    return StepOutcome(CHANGELOG_STEP, "done", edit.note)


def _on_lines(lines: set[int]) -> Callable[[ExecBlock], bool]:
    return lambda block: block.open_line in lines


@dataclass(frozen=True)
class _Blocks:
    """Where the block steps are applied, and with what."""

    workspace: Path
    git_dir: Path | None
    policy: Policy
    runner: Runner


async def _apply_blocks(
    where: _Blocks, wanted: set[str], outcome: DocsOutcome, unreadable: dict[str, str]
) -> dict[str, StepOutcome]:
    """Refresh the wanted blocks, file by file; a file the host refuses to touch goes to `unreadable`."""
    results: dict[str, StepOutcome] = {}
    workspace = where.workspace
    try:
        paths = await asyncio.to_thread(writable_files, workspace, where.policy, where.git_dir)
    except (UnsafePath, OSError) as exc:
        unreadable["*"] = f"could not list the checkout's files: {_reason(str(workspace), exc)}"
        return results
    for path in paths:
        try:
            text = await asyncio.to_thread(read_text, workspace, path)
        except (UnsafePath, OSError) as exc:
            unreadable[path] = f"could not read it: {_reason(path, exc)}"
            continue
        if text is None or "steward:exec" not in text:
            continue
        blocks, _ = _blocks_by_id(path, text)
        chosen = {block.open_line: step_id for step_id, block in blocks.items() if step_id in wanted}
        if not chosen:
            continue
        refresh = await refresh_blocks(text, where.runner, select=_on_lines(set(chosen)))
        failures = {p.line - 1: p.message for p in refresh.problems}
        if refresh.changed:
            try:
                await asyncio.to_thread(write_text, workspace, path, refresh.text)
                outcome.changed.append(path)
            except (UnsafePath, OSError) as exc:
                failures = dict.fromkeys(chosen, f"could not write it: {_reason(path, exc)}")
        for open_line, step_id in chosen.items():
            failure = failures.get(open_line)
            status: Status = "failed" if failure else "done"
            results[step_id] = StepOutcome(step_id, status, f"{path}: {failure or 'refreshed'}")
    return results


def _missing(step: PlanStep, unreadable: dict[str, str]) -> StepOutcome:
    """A step no result came back for: failed when its file could not be touched, else gone."""
    reason = unreadable.get("*") or next(
        (why for path, why in unreadable.items() if step.title == block_title(path)), None
    )
    if reason is not None:
        return StepOutcome(step.id, "failed", reason)
    return StepOutcome(step.id, "skipped", "no longer found in the checkout")


async def apply_docs(
    workspace: Path,
    plan: Plan,
    issue: IssueRecord,
    config: DocsConfig,
    runner: Runner,
    *,
    git_dir: Path | None = None,
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
    unreadable: dict[str, str] = {}
    where = _Blocks(workspace, git_dir, policy, runner)
    results |= await _apply_blocks(where, kept - {CHANGELOG_STEP}, outcome, unreadable)
    for step in plan.steps:
        result = results.get(step.id) or _missing(step, unreadable)
        outcome.steps.append(result)
        if result.status == "failed":
            outcome.problems.append(f"{step.title}: {result.detail}")
    outcome.changed = sorted(set(outcome.changed))
    return outcome
