"""`steward eval duplicates` reads only well-formed rows: each bad line is refused by number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from jobs.duplicates.dataset import DatasetError, load_reports

MAX_PROBLEMS_SHOWN = 20

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "duplicates"
GOOD = {"id": "a:1", "title": "t", "body": "b", "created_at": "2024-01-01T10:00:00", "project": "a"}


def _file(tmp_path: Path, *rows: dict[str, object] | str) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _eval(path: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["eval", "duplicates", str(path), "--lexical-only"])
    return result.exit_code, result.stdout, result.stderr


BAD_ROWS: list[tuple[str, dict[str, object] | str, str]] = [
    ("null created_at", {**GOOD, "id": "a:2", "created_at": None}, "created_at: is null"),
    ("missing created_at", {"id": "a:2", "title": "t"}, "created_at: missing"),
    ("unparsable date", {**GOOD, "id": "a:2", "created_at": "last Tuesday"}, "not an ISO 8601 date"),
    ("impossible date", {**GOOD, "id": "a:2", "created_at": "2024-02-30T10:00:00"}, "not an ISO 8601 date"),
    ("date as a number", {**GOOD, "id": "a:2", "created_at": 1704103200}, "created_at: input should be"),
    ("id as a number", {**GOOD, "id": 7}, "id: input should be a valid string"),
    ("null id", {**GOOD, "id": None}, "id: is null"),
    ("empty id", {**GOOD, "id": ""}, "id: string should have at least 1 character"),
    ("title as a list", {**GOOD, "id": "a:2", "title": ["x"]}, "title: input should be a valid string"),
    ("duplicate_of as a number", {**GOOD, "id": "a:2", "duplicate_of": 1}, "duplicate_of: input should"),
    ("duplicate id", {**GOOD}, "id 'a:1' is already used on line 1"),
    ("not an object", "[1, 2]", "not a JSON object: list"),
    ("not JSON", "{id: a}", "not JSON"),
]


@pytest.mark.parametrize(("row", "fragment"), [b[1:] for b in BAD_ROWS], ids=[b[0] for b in BAD_ROWS])
def test_a_bad_row_is_refused_with_its_line_and_nothing_is_measured(
    tmp_path: Path, row: dict[str, object] | str, fragment: str
) -> None:
    path = _file(tmp_path, GOOD, "", row, {**GOOD, "id": "a:3", "duplicate_of": "a:1"})
    code, out, err = _eval(path)
    assert code == 2
    assert f"{path}:3: " in err and fragment in err, err
    assert "recall@1" not in out and "nothing was measured" in err


def test_every_bad_row_is_reported_in_one_pass_and_summarised(tmp_path: Path) -> None:
    rows: list[dict[str, object] | str] = [GOOD]
    rows += [{**GOOD, "id": f"a:{i}", "created_at": None} for i in range(2, 32)]  # lines 2..31
    rows += ["oops"]  # line 32
    with pytest.raises(DatasetError) as caught:
        load_reports(_file(tmp_path, *rows))
    lines = str(caught.value).splitlines()
    assert len(lines) == MAX_PROBLEMS_SHOWN + 2
    assert [line.split(":")[1] for line in lines[:MAX_PROBLEMS_SHOWN]] == [str(n) for n in range(2, 22)]
    assert lines[-2] == f"... and {31 - MAX_PROBLEMS_SHOWN} more bad lines"
    assert lines[-1].endswith("31 bad lines; nothing was measured")


@pytest.mark.parametrize("content", ["", "\n\n  \n"], ids=["empty", "blank-lines"])
def test_an_empty_file_is_an_error_not_zero_metrics(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text(content)
    code, out, err = _eval(path)
    assert code == 2
    assert "holds no reports" in err and "recall" not in out


def test_dates_with_offsets_are_ordered_by_the_instant(tmp_path: Path) -> None:
    """10:00+02:00 is 08:00 UTC, before 09:00 (UTC): text order alone would put it after."""
    reports = load_reports(
        _file(
            tmp_path,
            {**GOOD, "id": "a:1", "created_at": "2024-01-01T10:00:00+02:00"},
            {**GOOD, "id": "a:2", "created_at": "2024-01-01T09:00:00"},
            {**GOOD, "id": "a:3", "created_at": "2024-01-01"},
            {**GOOD, "id": "a:4", "created_at": "2024-01-01T09:00:00.5Z", "resolution": "Duplicate"},
        )
    )
    order = sorted(reports, key=lambda r: r.created_at)
    assert [r.id for r in order] == ["a:3", "a:1", "a:2", "a:4"]
    assert reports[3].marked_duplicate and not reports[0].marked_duplicate


@pytest.mark.parametrize(("name", "rows"), [("gitbugs.jsonl", 3579), ("duppr-dev.jsonl", 1089)])
def test_the_shared_evaluation_sets_still_load(name: str, rows: int) -> None:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"{path} is not on this machine")
    reports = load_reports(path)
    assert len(reports) == rows
    assert sum(r.duplicate_of is not None for r in reports) > 100
    # duppr-dev holds one PR marked a duplicate of itself: read, and never scored (its original is itself)
