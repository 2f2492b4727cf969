"""The shadow report as a terminal table, or as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from jobs.shadow.report import Report
from jobs.shadow.scoring import (
    BOTH,
    FN,
    FP,
    MISSED,
    NEITHER,
    PROPOSED_ONLY,
    TN,
    TP,
    summarize_docs,
    summarize_duplicates,
)

ENTRY_CHARS = 60


def _item(report: Report, repo: str, number: int) -> str:
    return f"#{number}" if report.repo else f"{repo}#{number}"


def _share(value: float | None, part: int, whole: int) -> str:
    return "n/a (nothing decided yet)" if value is None else f"{value:.2f} ({part}/{whole})"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(header), *(line(row) for row in rows)]


def _duplicates(report: Report) -> list[str]:
    cases = report.duplicates
    out = [f"duplicates: {len(cases)} item(s) triaged in shadow mode"]
    if not cases:
        return out
    rows = [
        [_item(report, c.repo, c.number),
         ", ".join(f"#{n} ({c.scores.get(n, 0):.2f})" for n in c.shown) or "(none)",
         c.outcome, c.verdict]
        for c in cases
    ]  # fmt: skip
    out += _table(["item", "suggested", "afterwards", "verdict"], rows)
    s = summarize_duplicates(cases)
    n = s.counts
    out += [
        "",
        f"  suggested, then duplicate:      {n[TP]}",
        f"  suggested, not a duplicate:     {n[FP]} ({s.corrected} corrected with not-duplicate)",
        f"  not suggested, then duplicate:  {n[FN]}",
        f"  not suggested, not a duplicate: {n[TN]}",
        f"  undecided (still open): {n['undecided']}; not read: {n['unknown']}",
        f"  precision {_share(s.precision, n[TP], n[TP] + n[FP])}",
        f"  recall {_share(s.recall, n[TP], n[TP] + n[FN])}",
    ]
    if s.originals_known:
        out.append(
            f"  the named original was among those suggested: {s.originals_named} of {s.originals_known}"
        )
    return out


def _entry(text: str | None) -> str:
    if text is None:
        return "(none)"
    return text if len(text) <= ENTRY_CHARS else text[: ENTRY_CHARS - 1] + "…"


def _docs(report: Report) -> list[str]:
    cases = report.docs
    out = [f"docs: {len(cases)} shadow run(s)"]
    if not cases:
        return out
    hand = {True: "yes", False: "no", None: "-"}
    rows = [
        [c.run_id, _item(report, c.repo, c.number), _entry(c.entry), hand[c.by_hand],
         ", ".join(f"#{n}" for n in c.pulls) or "-", c.verdict + (f" ({c.note})" if c.note else "")]
        for c in cases
    ]  # fmt: skip
    out += _table(["run", "item", "proposed entry", "by hand", "pulls", "verdict"], rows)
    s = summarize_docs(cases)
    n = s.counts
    decided = n[BOTH] + n[PROPOSED_ONLY] + n[MISSED] + n[NEITHER]
    out += [
        "",
        f"  proposed, and people added one too:  {n[BOTH]}",
        f"  proposed, merged without one:        {n[PROPOSED_ONLY]}",
        f"  not proposed, people added one:      {n[MISSED]}",
        f"  not proposed, none added:            {n[NEITHER]}",
        f"  pending (nothing merged yet): {n['pending']}; not read: {n['unknown']}",
        f"  agreement {_share(s.agreement, n[BOTH] + n[NEITHER], decided)}",
    ]
    return out


def render_text(report: Report) -> str:
    where = report.repo or "every repository"
    lines = [
        f"Shadow runs since {report.since:%Y-%m-%d %H:%M} UTC, {where}",
        "",
        *_duplicates(report),
        "",
        *_docs(report),
    ]
    for workflow, count in sorted(report.others.items()):
        lines += ["", f"{workflow}: {count} shadow run(s) (recorded; not scored)"]
    if report.left_out:
        lines += ["", f"{report.left_out} more item(s) left out past --limit"]
    return "\n".join(lines)


def render_json(report: Report) -> str:
    data: dict[str, Any] = {
        "since": report.since.isoformat(),
        "repo": report.repo,
        "duplicates": {"items": [asdict(c) for c in report.duplicates],
                       "summary": asdict(summarize_duplicates(report.duplicates))},
        "docs": {"runs": [asdict(c) for c in report.docs], "summary": asdict(summarize_docs(report.docs))},
        "others": report.others,
        "left_out": report.left_out,
    }  # fmt: skip
    return json.dumps(data, indent=2, sort_keys=True)
