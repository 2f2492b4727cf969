"""Fuzz every target at the full count and print, per target: cases, crashes, 5xx, secret leaks, time.

Run: `uv run python bench/fuzz.py` (10,000 cases a target; `--cases N` or STEWARD_FUZZ_CASES for fewer;
`--only NAME` for one target). The targets are tests/fuzz's, the ones tests/test_fuzz*.py run at the CI
count; here they run counting (every finding tallied, the run goes on) where the tests stop at the first.
The HTTP targets run against `steward serve` (uvicorn on 127.0.0.1, real Redis, SQLite, throwaway secrets, a
loopback stand-in for GitHub that the dashboard's sign-in targets script per case).
Target: 0 crashes, 0 answers of 5xx, 0 leaks (and 0 broken properties).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import RedisServer
from tests.fuzz import dashboard, http
from tests.fuzz.core import BENCH_CASES, Tally, Target, cases_from_env, run
from tests.fuzz.targets import PARSERS


def row(tally: Tally) -> str:
    found = tally.found
    return (
        f"{tally.name:26} {tally.cases:>7,} {found['crash']:>7} {found['5xx']:>5} {found['leak']:>6} "
        f"{found['broken']:>7} {tally.seconds:>8.1f} {tally.slowest * 1000:>9.1f}"
    )


HEAD = f"{'target':26} {'cases':>7} {'crashes':>7} {'5xx':>5} {'leaks':>6} {'broken':>7} {'time s':>8} {'slowest ms':>9}"


def fuzz(targets: list[Target], cases: int) -> list[Tally]:
    tallies = []
    for target in targets:
        tally = run(target, cases, strict=False)
        print(row(tally), flush=True)
        tallies.append(tally)
    return tallies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=cases_from_env(BENCH_CASES))
    parser.add_argument("--only", help="run the targets whose name contains this")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the receiver logs each refused delivery as a warning

    def chosen(targets: list[Target]) -> list[Target]:
        return [t for t in targets if args.only is None or args.only in t.name]

    print(f"{args.cases:,} cases per target\n{HEAD}", flush=True)
    tallies = fuzz(chosen(PARSERS), args.cases)
    with tempfile.TemporaryDirectory() as workdir:
        redis = RedisServer(Path(workdir))
        redis.start()
        try:
            with http.serve(redis.url, Path(workdir)) as service:
                served = [
                    http.api_target(service), http.webhook_target(service),
                    dashboard.sign_in_target(service), dashboard.cookie_target(service),
                ]  # fmt: skip
                tallies += fuzz(chosen(served), args.cases)
        finally:
            redis.stop()
    bad = [t for t in tallies if any(t.found.values())]
    for tally in bad:
        for kind, text in tally.first.items():
            print(f"first {kind} in {tally.name}: {text}")
    total = sum(t.cases for t in tallies)
    print(f"verdict: {total:,} cases, {'0 findings' if not bad else f'findings in {len(bad)} target(s)'}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
