"""Which of a revision's generated test files each source's tests go to: Steward's own first, in place; a
file a person edited only named; names of other layouts and folders never taken for generated ones."""

from __future__ import annotations

import pytest

from jobs.runs.revision.model import GeneratedFile
from jobs.workflows.tests.layout import Layout
from jobs.workflows.tests.refresh import edited_note, place

OWN = GeneratedFile(path="tests/test_calc_steward.py")
EDITED = GeneratedFile(path="tests/test_calc_steward.py", edited_by=["rita"])
SECOND = GeneratedFile(path="tests/test_calc_steward_2.py")


@pytest.mark.parametrize(
    ("layout", "path", "stem"),
    [
        (Layout(), "tests/test_calc_steward.py", ("calc", 1)),
        (Layout(), "tests/test_calc_steward_12.py", ("calc", 12)),
        (Layout(), "tests/test_my_steward_calc_steward.py", ("my_steward_calc", 1)),
        (Layout(), "tests/test_calc.py", None),
        (Layout(), "tests/sub/test_calc_steward.py", None),
        (Layout(), "tests/calc_steward_test.py", None),
        (Layout(), "tests/test_calc_steward_0.py", None),
        (Layout("test", suffix=True), "test/calc_steward_2_test.py", ("calc", 2)),
        (Layout("", suffix=False), "test_calc_steward.py", ("calc", 1)),
    ],
)
def test_a_generated_name_gives_its_module_stem(
    layout: Layout, path: str, stem: tuple[str, int] | None
) -> None:
    assert layout.stem_of(path) == stem


def test_own_files_are_used_first_and_once_each_and_an_edited_one_is_only_named() -> None:
    both = [
        GeneratedFile(path="tests/test_util_steward.py"),
        GeneratedFile(path="tests/test_util_steward_2.py"),
    ]
    placed = place(Layout(), ["."], ["pkg/a/util.py", "pkg/b/util.py", "pkg/c/util.py"], both)
    assert placed.own == {
        "pkg/a/util.py": "tests/test_util_steward.py",
        "pkg/b/util.py": "tests/test_util_steward_2.py",
    }
    assert placed.edited == {}

    edited_then_own = place(Layout(), ["."], ["pkg/calc.py"], [EDITED, SECOND])
    assert edited_then_own.own == {"pkg/calc.py": "tests/test_calc_steward_2.py"}, "the own one, not a new _3"
    assert edited_then_own.regenerated == ("tests/test_calc_steward_2.py",)

    only_edited = place(Layout(), ["."], ["pkg/calc.py"], [EDITED])
    assert (only_edited.own, only_edited.edited, only_edited.regenerated) == ({}, {"pkg/calc.py": EDITED}, ())
    assert place(Layout(), ["."], [], [OWN]).regenerated == ("tests/test_calc_steward.py",)


def test_the_note_names_the_person_as_code() -> None:
    note = edited_note(
        GeneratedFile(path="tests/test_calc_steward.py", edited_by=["rita", "sam"]), "tests/x.py"
    )
    assert note == (
        "`tests/test_calc_steward.py` was edited by `@rita`, `@sam` — left as it is; "
        "new tests go to `tests/x.py`"
    )
