"""Read the duplicate-report JSONL format of the evaluation sets, with clear errors for bad lines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


class DatasetError(ValueError):
    """The file is not in the duplicate-report JSONL format; the message names the line."""


@dataclass(frozen=True)
class Report:
    id: str
    title: str
    body: str
    created_at: str
    project: str
    duplicate_of: str | None
    marked_duplicate: bool = False
    """Closed as a duplicate (duplicate_of, or a source resolution saying so), the link known or not."""


def load_reports(path: Path) -> list[Report]:
    """Every report of the file, in file order."""
    reports: list[Report] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not UTF-8 text") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            reports.append(
                Report(
                    id=str(row["id"]),
                    title=str(row.get("title") or ""),
                    body=str(row.get("body") or ""),
                    created_at=str(row["created_at"]),
                    project=str(row.get("project") or ""),
                    duplicate_of=None if row.get("duplicate_of") is None else str(row["duplicate_of"]),
                    marked_duplicate=row.get("duplicate_of") is not None
                    or str(row.get("resolution") or "").lower() == "duplicate",
                )
            )
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{number}: not JSON: {exc.msg}") from None
        except (KeyError, TypeError) as exc:
            raise DatasetError(f"{path}:{number}: needs an object with id and created_at ({exc})") from None
    return reports
