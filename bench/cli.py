"""Start-up cost of the `steward` command line: median wall seconds per command, and the slowest imports.

Run from the repository root: uv run python bench/cli.py [--rounds 7] [--root DIR] [--python PATH]
(--root and --python measure another checkout, e.g. main before a change, with its own interpreter).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = (
    ["--help"],
    ["--version"],
    ["runs", "--help"],
    ["runs", "list", "--help"],
    ["sandbox", "run", "--help"],
    ["run", "docs", "--help"],
    ["config", "validate", "--help"],
)
BUDGETS = {"--help": 0.3}
"""Targets from issue 9: `steward --help` in 0.3 s; any other command's fixed cost in 0.5 s."""
DEFAULT_BUDGET = 0.5
ENTRY = "from app.cli import main; main()"


def clean_env() -> dict[str, str]:
    """No STEWARD_* settings from the caller, so every round does the same work."""
    return {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}


def timed(python: str, root: Path, args: list[str]) -> float:
    """Wall seconds of one `steward ARGS`; NaN when it fails (an older checkout without that command)."""
    start = time.perf_counter()
    done = subprocess.run(
        [python, "-c", ENTRY, *args], cwd=root, env=clean_env(), capture_output=True, check=False
    )
    took = time.perf_counter() - start
    if done.returncode != 0:
        return math.nan
    return took


def import_top(python: str, root: Path, count: int) -> list[tuple[int, str]]:
    """The modules with the largest cumulative import time under `import app.cli`, in microseconds."""
    done = subprocess.run(
        [python, "-X", "importtime", "-c", "import app.cli"],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout to measure")
    parser.add_argument("--python", default=sys.executable, help="interpreter with that checkout's packages")
    parser.add_argument("--top", type=int, default=12, help="import rows to print")
    options = parser.parse_args()
    print(f"steward start-up, {options.root}, median of {options.rounds} rounds")
    over = []
    for args in COMMANDS:
        if math.isnan(timed(options.python, options.root, args)):  # also warms the caches and .pyc files
            print(f"  FAIL            steward {' '.join(args)} exits non-zero here")
            continue
        median = statistics.median(timed(options.python, options.root, args) for _ in range(options.rounds))
        budget = BUDGETS.get(" ".join(args), DEFAULT_BUDGET)
        mark = "ok  " if median <= budget else "OVER"
        over += [] if median <= budget else [args]
        print(f"  {mark} {median:6.3f}s  (budget {budget:.1f}s)  steward {' '.join(args)}")
    print("\npython -X importtime -c 'import app.cli', largest cumulative:")
    for micros, name in import_top(options.python, options.root, options.top):
        print(f"  {micros / 1e6:7.3f}s  {name}")
    if over:
        print(f"\n{len(over)} command(s) over budget (on a loaded machine, run again before concluding)")


if __name__ == "__main__":
    main()
