"""The tests workflow's built-in engine: measure, generate, validate, clean, check the whole."""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter

from app.config.model import TestsConfig
from app.github.untrusted import code_span
from jobs.runs.workflow import StepOutcome, WorkInput
from jobs.workflows.tests.affected import repository_files, source_files
from jobs.workflows.tests.candidates import Candidate, Target, module_of
from jobs.workflows.tests.clean import formatted, merge
from jobs.workflows.tests.generators import Generator
from jobs.workflows.tests.layout import detect
from jobs.workflows.tests.measure import FileCoverage, Report
from jobs.workflows.tests.outcome import Dropped, Kept, TestsOutcome
from jobs.workflows.tests.planning import LEAST_STEP, SUITE_STEP, file_step_id, source_roots
from jobs.workflows.tests.refresh import Placement, edited_note, generated_of, place, refreshed_note
from jobs.workflows.tests.sandboxenv import SCRATCH, WORKSPACE
from jobs.workflows.tests.session import Session
from jobs.workflows.tests.validate import Validator
from policies.loader import path_allowed
from sandbox import hostfs
from sandbox.hostfs import UnsafePath

_SUMMARY = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.M)
"""A failing test's id in pytest's short summary (`FAILED tests/test_x.py::test_y - ...`)."""
SUITE_SECONDS = 900
"""The existing suite, run under coverage, may take this long (the sandbox's own limits still apply)."""


def _least_covered(report: Report, sources: list[str], most: int) -> list[str]:
    ranked = sorted(
        (path for path in sources if report.get(path).line_percent < 100.0),
        key=lambda path: (report.get(path).line_percent, path),
    )
    return ranked[:most]


def failing_tests(output: str) -> set[str]:
    """The tests pytest's short summary names as failed or in error."""
    return set(_SUMMARY.findall(output))


def nothing_kept(path: str, before: FileCoverage, dropped: list[Dropped]) -> str:
    """Why a file got no test: its coverage before and its candidates' fates (a closed run says only this)."""
    reasons = Counter(d.reason for d in dropped if d.path == path)
    fates = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items())) or "none generated"
    return (
        f"no test kept for `{path}` ({before.line_percent:.1f}% lines, {before.branch_percent:.1f}% branches "
        f"before); candidates dropped: {fates}"
    )


async def run_engine(given: WorkInput, config: TestsConfig, generator: Generator) -> TestsOutcome:
    """Carry out the approved plan; files are written to the workspace only through sandbox.hostfs."""
    outcome = TestsOutcome()
    files = await asyncio.to_thread(repository_files, given.workspace, given.git_dir)
    sources = source_files(files)
    roots = source_roots(files)
    session = Session(given.run, roots)
    include = [f"{WORKSPACE}/*"]
    suite_targets = [detect(files).folder or "."]
    generated = generated_of(given.plan.revision)
    regenerated = place(detect(files), roots, [], generated).regenerated
    ignored = [f"--ignore={path}" for path in regenerated]  # a revision regenerates them: not the baseline
    await session.raw(f"mkdir -p {SCRATCH}")
    before_run, base = await session.covered(
        suite_targets + ignored, include, SUITE_SECONDS, "the existing suite under coverage (before)",
        source=roots,
    )  # fmt: skip
    outcome.failing_before = sorted(failing_tests(before_run.output)) if not before_run.ok else []
    baseline = base or Report()
    kept_steps = {step.id for step in given.plan.kept()}
    wanted = [step.detail for step in given.plan.kept() if step.id == file_step_id(step.detail)]
    if LEAST_STEP in kept_steps:
        wanted = _least_covered(baseline, sources, config.max_modules)
    affected = [path for path in wanted if path in sources]
    outcome.affected = affected
    outcome.before = {path: baseline.get(path) for path in affected}
    validator = Validator(
        session, affected, baseline, config.candidate_seconds, random.Random(given.plan.base_sha)
    )
    kept_by_file: dict[str, list[tuple[Candidate, str]]] = {}
    for path in affected:
        target = module_of(path, roots)
        made = await generator.generate(target, roots, config.generation_seconds, session.run)
        outcome.problems += made.problems
        outcome.generated += len(made.candidates)
        order = list(made.candidates)
        validator.rng.shuffle(order)  # candidates meet one another's leftovers in a random order
        for candidate in order:
            verdict = await validator.check(candidate)
            await validator.forget(candidate)
            if verdict.kept:
                kept_by_file.setdefault(path, []).append((candidate, verdict.detail))
            else:
                outcome.dropped.append(Dropped(candidate.id, path, verdict.reason or "", verdict.detail))
        if path not in kept_by_file:
            outcome.problems.append(nothing_kept(path, baseline.get(path), outcome.dropped))
    placed = place(detect(files), roots, affected, generated)
    await _place(given, session, files, kept_by_file, outcome, placed)
    await _suite(given, session, suite_targets, include, kept_steps, outcome)
    outcome.commands = session.commands
    _steps(given, outcome)
    return outcome


async def _place(
    given: WorkInput,
    session: Session,
    files: list[str],
    kept_by_file: dict[str, list[tuple[Candidate, str]]],
    outcome: TestsOutcome,
    placed: Placement,
) -> None:
    """Write each module's kept tests where the repository keeps its tests (in a revision, over Steward's
    own earlier file for it), if the policy lets the run."""
    layout = detect(files)
    taken = set(files)
    for path in placed.own.keys() - kept_by_file.keys():
        outcome.placed[path] = f"{code_span(placed.own[path])} left as it was"
    for path, kept in kept_by_file.items():
        target: Target = kept[0][0].target
        test_path = placed.own.get(path) or layout.path_for(target.module, taken)
        taken.add(test_path)
        if not path_allowed(given.policy, test_path):
            outcome.refused.append(test_path)
            outcome.problems.append(
                f"{test_path} is outside the paths this run may change, so {len(kept)} kept test(s) for "
                f"{path} were not written"
            )
            continue
        text, note = await formatted(
            session, merge([candidate for candidate, _ in kept]), test_path.rsplit("/", 1)[-1]
        )
        if note and note not in outcome.notes:
            outcome.notes.append(note)
        try:
            await asyncio.to_thread(hostfs.write_bytes, given.workspace, test_path, text.encode("utf-8"))
        except (UnsafePath, OSError) as exc:
            outcome.problems.append(f"could not write {test_path}: {exc}")
            continue
        outcome.changed.append(test_path)
        edited = placed.edited.get(path)
        if path in placed.own:
            outcome.placed[path] = refreshed_note(test_path)
        elif edited is not None:
            outcome.placed[path] = edited_note(edited, test_path)
        names = [line.split("(")[0][4:] for line in text.splitlines() if line.startswith("def test_")]
        for name, (_, gain) in zip(names, kept, strict=False):
            outcome.kept.append(Kept(name, test_path, path, gain))


async def _suite(
    given: WorkInput,
    session: Session,
    targets: list[str],
    include: list[str],
    kept_steps: set[str],
    outcome: TestsOutcome,
) -> None:
    """The whole suite once more, kept tests included, for coverage after and to show nothing broke."""
    if SUITE_STEP not in kept_steps:
        return
    done, after = await session.covered(
        targets, include, SUITE_SECONDS, "the whole suite with the kept tests (after)", source=session.roots
    )
    if after is not None:
        outcome.after = {path: after.get(path) for path in outcome.affected}
    if done.ok:
        outcome.suite_passed = True
        return
    now = failing_tests(done.output)
    broken = sorted(now - set(outcome.failing_before))
    # The suite failed before the kept tests too: it broke only if some test fails that did not before.
    outcome.suite_passed = bool(outcome.failing_before) and bool(now) and not broken
    if outcome.suite_passed:
        outcome.notes.append(
            f"the suite failed before the kept tests too ({len(outcome.failing_before)} failing); "
            "no other test fails with them"
        )
        return
    shown = f": {', '.join(broken[:5])}" if broken else ""
    outcome.problems.append(f"the whole suite failed with the kept tests (exit {done.exit_code}){shown}")


def _steps(given: WorkInput, outcome: TestsOutcome) -> None:
    for step in given.plan.steps:
        if not step.ticked:
            outcome.steps.append(StepOutcome(step.id, "dropped", "unticked before approval"))
        elif step.id == SUITE_STEP:
            status = "done" if outcome.suite_passed else "failed"
            outcome.steps.append(StepOutcome(step.id, status, "passed" if outcome.suite_passed else "failed"))
        else:
            files = outcome.affected if step.id == LEAST_STEP else [step.detail]
            n = sum(1 for kept in outcome.kept if kept.path in files)
            status = "done" if n else "unchanged"
            said = [f"{n} test(s) kept for {', '.join(files)}"]
            said += [outcome.placed[path] for path in files if outcome.placed.get(path)]
            outcome.steps.append(StepOutcome(step.id, status, "; ".join(said)))
