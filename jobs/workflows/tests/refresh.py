"""A revision's test files: those Steward generated on the branch and nobody edited since are regenerated
in place for the current code; one a person edited is left as it is, and new tests go beside it."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.github.untrusted import code_span
from jobs.runs.revision.model import GeneratedFile, RevisionPlan
from jobs.workflows.tests.candidates import module_of
from jobs.workflows.tests.layout import Layout


@dataclass(frozen=True)
class Placement:
    """Where each affected source's tests go in a revision, and which generated files it rewrites."""

    own: dict[str, str] = field(default_factory=dict)
    """Source path -> Steward's own test file for it, rewritten in place."""
    edited: dict[str, GeneratedFile] = field(default_factory=dict)
    """Source path -> the generated file for it that a person edited (kept; new tests go to a new file)."""
    regenerated: tuple[str, ...] = ()
    """Every Steward-own test file of the layout: left out of the suite before, since it is regenerated."""


def generated_of(revision: RevisionPlan | None) -> list[GeneratedFile]:
    return list(revision.generated) if revision is not None else []


def place(layout: Layout, roots: list[str], sources: list[str], generated: list[GeneratedFile]) -> Placement:
    """Each source's own file (the first of its module's name nobody edited), else the edited one to name."""
    named = sorted(
        ((found, file) for file in generated if (found := layout.stem_of(file.path)) is not None),
        key=lambda pair: (pair[0][1], pair[1].path),
    )
    own: dict[str, str] = {}
    edited: dict[str, GeneratedFile] = {}
    used: set[str] = set()
    for source in sources:
        stem = module_of(source, roots).module.rsplit(".", 1)[-1] or "module"
        mine = [f for (s, _), f in named if s == stem and f.own and f.path not in used]
        if mine:
            own[source] = mine[0].path
            used.add(mine[0].path)
            continue
        theirs = [f for (s, _), f in named if s == stem and not f.own]
        if theirs:
            edited[source] = theirs[0]
    regenerated = tuple(file.path for _, file in named if file.own)
    return Placement(own, edited, regenerated)


def edited_note(file: GeneratedFile, new: str) -> str:
    """`tests/test_x_steward.py` was edited by `@rita` — left as it is; new tests go to `...`."""
    kept = f"{code_span(file.path)} was edited by {file.editors()} — left as it is"
    return f"{kept}; new tests go to {code_span(new)}"


def refreshed_note(path: str) -> str:
    return (
        f"{code_span(path)} (Steward generated it on this branch, nobody edited it since) rewritten in place"
    )
