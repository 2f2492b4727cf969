"""Read the duplicate-report JSONL format of the evaluation sets; refuse every bad line, by its number."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

MAX_PROBLEMS_SHOWN = 20
"""Bad lines listed one by one; the rest are counted."""


class DatasetError(ValueError):
    """The file is not in the duplicate-report JSONL format; the message names every bad line."""


@dataclass(frozen=True)
class Report:
    id: str
    title: str
    body: str
    created_at: str
    """UTC, ISO 8601 with microseconds: one fixed width, so text order is time order."""
    project: str
    duplicate_of: str | None
    marked_duplicate: bool = False
    """Closed as a duplicate (duplicate_of, or a source resolution saying so), the link known or not."""
    number: int | None = None
    author: str = ""
    author_type: str = ""
    """user or bot, when the source says."""
    base_branch: str = ""
    files: tuple[str, ...] | None = None
    """A pull request's changed files, when the source has them (DupPR has not)."""
    state: str = ""
    """open, closed, merged or duplicate, when the source says (`state`, or a tracker's status/resolution)."""


CLOSED_STATUSES = frozenset({"closed", "resolved", "verified", "fixed", "done"})


def _state(state: str, status: str, resolution: str, marked_duplicate: bool) -> str:
    """The item's state as the decision reads it; a tracker's status and resolution mapped onto GitHub's."""
    if state.lower() in ("open", "closed", "merged", "duplicate"):
        return state.lower()
    if marked_duplicate:
        return "duplicate"
    if resolution:
        return "closed"
    if status:
        return "closed" if status.lower() in CLOSED_STATUSES else "open"
    return ""


def _instant(text: str) -> str:
    """Any ISO 8601 date or time (a time without an offset is read as UTC), in the one form Report keeps."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 date or time: {text[:40]!r}") from None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.isoformat(timespec="microseconds")


Text = Annotated[str | None, AfterValidator(lambda value: value or "")]
"""Optional text: null reads as empty."""


class Row(BaseModel):
    """One line as the evaluation sets write it; source fields beyond these are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")

    id: str = Field(min_length=1)
    created_at: Annotated[str, AfterValidator(_instant)]
    title: Text = ""
    body: Text = ""
    project: Text = ""
    duplicate_of: str | None = Field(default=None, min_length=1)
    resolution: Text = ""
    number: int | None = None
    author: Text = ""
    author_type: Annotated[str | None, AfterValidator(lambda value: (value or "").lower())] = ""
    base_branch: Text = ""
    files: list[str] | None = None
    state: Text = ""
    status: Text = ""

    def report(self) -> Report:
        marked = self.duplicate_of is not None or (self.resolution or "").lower() == "duplicate"
        return Report(
            id=self.id,
            title=self.title or "",
            body=self.body or "",
            created_at=self.created_at,
            project=self.project or "",
            duplicate_of=self.duplicate_of,
            marked_duplicate=marked,
            number=self.number,
            author=self.author or "",
            author_type=self.author_type or "",
            base_branch=self.base_branch or "",
            files=None if self.files is None else tuple(self.files),
            state=_state(self.state or "", self.status or "", self.resolution or "", marked),
        )


def _describe(exc: ValidationError) -> str:
    """Each field's problem in a few words (pydantic's own sentence, without its URL)."""
    parts = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "(line)"
        if err["type"] == "missing":
            parts.append(f"{field}: missing")
        elif err["input"] is None:
            parts.append(f"{field}: is null")
        else:
            message = err["msg"].removeprefix("Value error, ")
            parts.append(f"{field}: {message[:1].lower()}{message[1:]} (got {json.dumps(err['input'])[:40]})")
    return "; ".join(parts)


def _row(line: str) -> Row:
    try:
        data: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ValueError(f"not a JSON object: {type(data).__name__}")
    try:
        return Row.model_validate(data)
    except ValidationError as exc:
        raise ValueError(_describe(exc)) from None


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not UTF-8 text") from None


def _summary(path: Path, problems: list[str]) -> str:
    shown = problems[:MAX_PROBLEMS_SHOWN]
    more = len(problems) - len(shown)
    tail = [f"... and {more} more bad lines"] if more else []
    count = f"{len(problems)} bad line" + ("s" if len(problems) > 1 else "")
    return "\n".join([*shown, *tail, f"{path}: {count}; nothing was measured"])


def load_reports(path: Path) -> list[Report]:
    """Every report of the file, in file order; a DatasetError listing every bad line if there is one."""
    reports: list[Report] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(_read_lines(path), 1):
        if not line.strip():
            continue
        try:
            row = _row(line)
        except ValueError as exc:
            problems.append(f"{path}:{number}: {exc}")
            continue
        if row.id in first_line:
            problems.append(f"{path}:{number}: id {row.id!r} is already used on line {first_line[row.id]}")
            continue
        first_line[row.id] = number
        reports.append(row.report())
    if problems:
        raise DatasetError(_summary(path, problems))
    if not reports:
        raise DatasetError(f"{path}: holds no reports (one JSON object a line); nothing to measure")
    return reports
