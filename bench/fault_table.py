"""The fault matrix's result table for the README, made from a real run of tests/test_fault_matrix.py.

Run from the repository root: uv run python bench/fault_table.py [--results FILE] [--reuse]
Without --reuse it runs the matrix (real Docker, Redis, git; about 15 minutes on 2 cores) with
FAULT_MATRIX_RESULTS=FILE, then prints one Markdown row per step: pass/FAIL per fault, and why. With --more it
also runs the tests workflow's and the agent engine's cases (MORE, about 25 minutes more) and prints a second
table, one row per case.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

from jobs.failpoints import STEPS  # noqa: E402

FAULTS = {
    "kill": "SIGKILL",
    "502": "502",
    "primary": "primary rate limit",
    "secondary": "secondary rate limit",
}
NO_CALL = "n/a (no GitHub call)"
MORE = ("tests/test_fault_matrix_tests.py", "tests/test_fault_matrix_agent.py")
"""Their rows name the step `tests:<step>` or `agent:<step>`."""
QUIET_STEPS = ("setup", "work", "diff", "push")
"""Steps that make no GitHub API call (git goes to the remote): only SIGKILL applies there."""


def table(rows: list[dict[str, object]]) -> str:
    cells = {(str(r["step"]), str(r["fault"])): r for r in rows}
    lines = ["| step | " + " | ".join(FAULTS.values()) + " |", "|" + "---|" * (len(FAULTS) + 1)]
    for step in STEPS:
        row = []
        for fault in FAULTS:
            found = cells.get((step, fault))
            if found is None:
                row.append(NO_CALL if fault != "kill" and step in QUIET_STEPS else "not run")
                continue
            verdict = "pass" if found["ok"] else "FAIL: " + "; ".join(map(str, found["problems"]))
            row.append(f"{verdict} ({str(found['end']).split(':')[0]}, {found['seconds']}s)")
        lines.append(f"| {step} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def more_table(rows: list[dict[str, object]]) -> str:
    """The tests workflow's and the agent engine's cases (steps `workflow:step`), one row each."""
    lines = ["| run: step | fault | result |", "|---|---|---|"]
    for r in rows:
        if ":" not in str(r["step"]):
            continue
        verdict = "pass" if r["ok"] else "FAIL: " + "; ".join(map(str, r["problems"]))
        lines.append(
            f"| {r['step']} | {r['fault']} | {verdict} ({str(r['end']).split(':')[0]}, {r['seconds']}s) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("/tmp/fault-matrix.jsonl"))
    parser.add_argument("--reuse", action="store_true", help="print the table of an earlier run's results")
    parser.add_argument("--more", action="store_true", help="also run the tests workflow's and agent's cases")
    args = parser.parse_args()
    if not args.reuse:
        args.results.unlink(missing_ok=True)
        env = {**os.environ, "FAULT_MATRIX_RESULTS": str(args.results)}
        files = ["tests/test_fault_matrix.py", *(MORE if args.more else ())]
        cmd = [sys.executable, "-m", "pytest", *files, "-q", "-p", "no:cacheprovider"]
        subprocess.run(cmd, cwd=ROOT, env=env, check=False)
    rows = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()]
    rows = list({(r["step"], r["fault"]): r for r in rows}.values())  # a case run twice: its last run
    print(table([r for r in rows if ":" not in str(r["step"])]))
    if any(":" in str(r["step"]) for r in rows):
        print("\n" + more_table(rows))
    failed = sum(1 for r in rows if not r["ok"])
    print(f"\n{len(rows)} case(s), {failed} failed")


if __name__ == "__main__":
    main()
