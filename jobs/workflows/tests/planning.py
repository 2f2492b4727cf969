"""The tests workflow's plan, made on the host from the checkout's file list: no code of the project runs."""

from __future__ import annotations

import hashlib

from app.config.model import TestsConfig
from app.github.protocol import permission_rank
from app.github.untrusted import code_span
from jobs.plan import NOT_ACTED_ON, Plan, PlanStep
from jobs.runs.revision.model import GeneratedFile
from jobs.runs.workflow import PlanInput
from jobs.workflows.tests.affected import (
    choose,
    repository_files,
    require_python,
    source_files,
    unknown_paths,
)
from jobs.workflows.tests.candidates import module_of
from jobs.workflows.tests.layout import Layout, detect
from jobs.workflows.tests.refresh import Placement, edited_note, generated_of, place
from jobs.workflows.tests.validate import RUNS

SUITE_STEP = "suite"
LEAST_STEP = "least-covered"


def file_step_id(path: str) -> str:
    """A file's step id: stable for the path, whatever the title says."""
    return "tests-" + hashlib.sha256(path.encode()).hexdigest()[:10]


def source_roots(files: list[str]) -> list[str]:
    """Where the project's modules import from: `src/` when it has sources there, and the root."""
    return ["src", "."] if any(path.startswith("src/") and path.endswith(".py") for path in files) else ["."]


def _how(config: TestsConfig) -> str:
    return (
        f"measure coverage, generate with Pynguin (at most {config.generation_seconds} s), keep what passes "
        f"{RUNS} runs alone and adds coverage"
    )


def _title(path: str, placed: Placement, config: TestsConfig) -> str:
    """A file's step: write its tests, or, in a revision, rewrite Steward's own file for it in place."""
    own = placed.own.get(path)
    if own is None:
        return f"Write tests for {path}: {_how(config)}"
    return (
        f"Refresh {own} in place for {path} (Steward generated it on this branch, nobody edited it since): "
        + _how(config)
    )


def _edited(layout: Layout, files: list[str], placed: Placement) -> list[str]:
    taken = set(files)
    notes = []
    for path, file in placed.edited.items():
        new = layout.path_for(module_of(path, source_roots(files)).module, taken)
        taken.add(new)
        notes.append(edited_note(file, new))
    return notes


def _least_generated(layout: Layout, generated: list[GeneratedFile]) -> list[str]:
    """Without named files, which generated files the least-covered modules may refresh, and which stay."""
    own = [code_span(f.path) for f in generated if f.own and layout.stem_of(f.path) is not None]
    notes = [f"refreshed in place if their module is chosen: {', '.join(own)}"] if own else []
    return notes + [
        f"{code_span(f.path)} was edited by {f.editors()} — left as it is; new tests go to a new file"
        for f in generated
        if not f.own and layout.stem_of(f.path) is not None
    ]


def plan_tests(given: PlanInput, config: TestsConfig) -> Plan:
    """The affected files, one step each, then the whole-suite check; a repository not in Python is refused.

    Raises affected.NotPythonError (with a message naming what is supported) for other languages.
    """
    files = repository_files(given.workspace, given.git_dir)
    require_python(files)
    affected = choose(given.item, files)
    layout = detect(files)
    folder = layout.folder or "the repository root"
    naming = "*_test.py" if layout.suffix else "test_*.py"
    notes = [f"kept tests go to {folder} ({naming}), beside the repository's own"]
    notes += [
        f"{path}: not a Python source file of this checkout" for path in unknown_paths(given.item, files)
    ]
    generated = generated_of(given.revision)
    placed = place(layout, source_roots(files), list(affected.files), generated)
    if affected.files:
        steps = [
            PlanStep(id=file_step_id(path), title=_title(path, placed, config), detail=path)
            for path in affected.files
        ]
        notes.append(f"affected files: {affected.source}")
        notes += _edited(layout, files, placed)
    elif placed.regenerated or any(not file.own for file in generated):
        notes += _least_generated(layout, generated)
    elif given.item.paths:
        steps = []
    else:
        count = min(config.max_modules, len(source_files(files)))
        steps = [
            PlanStep(
                id=LEAST_STEP,
                title=f"Write tests for the {count} least-covered module(s) (chosen in the sandbox): "
                + _how(config),
                detail="least-covered modules, chosen in the sandbox",
            )
        ]
    if steps:
        steps.append(
            PlanStep(
                id=SUITE_STEP,
                title="Run the whole suite once more with the kept tests (coverage after)",
                detail="python3 -m coverage run --branch -m pytest",
            )
        )
    policy = given.policy
    return Plan(
        workflow=policy.workflow,
        number=given.item.issue.number,
        steps=steps,
        paths=list(policy.writable),
        denied_paths=list(policy.denied),
        limits=policy.limits,
        permissions=dict(policy.permissions),
        approval_required=policy.approval.required or config.approval.required,
        approval_level=max(policy.approval.level, config.approval.level, key=permission_rank),
        approval_allow_self=config.approval.allow_self,
        instructions=given.item.instructions,
        instructions_note=NOT_ACTED_ON if given.item.instructions.strip() else "",
        notes=notes,
        base_sha=given.base_sha,
    )
