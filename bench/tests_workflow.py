"""The tests workflow on real projects nobody here wrote: PyPI source distributions that ship their tests.

For each project: download the sdist (pinned, cached outside the repository), make it a git repository, run
`steward run tests --repo DIR --yes` (the same command a user runs), then clone the result branch fresh and run
the kept tests 5 times in the sandbox. Prints candidates and kept tests, coverage before/after per file, the
share of kept tests passing 5 reruns, and the setup / generation / validation wall times from the run ledger.

Run from the repository root: uv run python bench/tests_workflow.py [--project NAME==VER ...]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path[0] = str(
    Path(__file__).resolve().parent.parent
)  # the project root, not bench/ (the project root first)

import anyio  # noqa: E402

from app.settings import Settings  # noqa: E402
from jobs.ledger import Ledger  # noqa: E402
from jobs.workflows.tests.sandboxenv import SCRATCH  # noqa: E402
from policies.loader import load_policy  # noqa: E402
from sandbox.docker_sandbox import DockerSandbox  # noqa: E402
from sandbox.git import give_to_sandbox  # noqa: E402
from sandbox.limits import Limits  # noqa: E402

PROJECTS = ("appdirs==1.4.4", "toml==0.10.2", "hjson==3.0.2", "sqlparse==0.4.2")
"""Small pure-Python libraries whose sdists include their tests, build with setuptools (no index needed), need
nothing at run time, and have a module under 80% line coverage under their own suite (608 to 3,774 lines)."""
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "steward-bench" / "sdists"
RERUNS = 5
LOW = 80.0
"""Files starting below this line coverage must rise by RISE points on average."""
RISE = 10.0
LARGEST = 5000
"""A library of up to this many lines must finish inside the run limit."""
ROW = re.compile(r"^\| `(?P<file>[^`]+)` \| (?P<before>[\d.]+)% lines · [^|]* \| (?P<after>[\d.]+)% lines")
COUNTS = re.compile(r"Candidates generated: (\d+) · kept: (\d+)")
KEPT = re.compile(r"^- kept `(?P<name>[^`]+)` in `(?P<file>[^`]+)`")
DROPPED = re.compile(
    r"^- dropped `(?P<id>[^`]+)` \(for `(?P<path>[^`]+)`\): \*\*(?P<reason>[^*]+)\*\*, (?P<detail>.*)$"
)
NOTHING = re.compile(
    r"no test kept for `(?P<file>[^`]+)` \((?P<before>[\d.]+)% lines, [\d.]+% branches before\); "
    r"candidates dropped: (?P<fates>[^\n]*)"
)
FATE = re.compile(r"(\d+) ([a-z ]+)")
RUN_ID = re.compile(r"Run `?(r-[0-9a-f]+)`?")
CANDIDATES = f"{SCRATCH}/candidates/"
"""Where the engine writes each candidate in the sandbox: its commands are the validation phase."""


def download(spec: str) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    name, version = spec.split("==")
    found = [
        p for p in CACHE.glob("*.tar.gz") if p.name.lower().replace("_", "-").startswith(f"{name}-{version}")
    ]
    if not found:
        print(f"  downloading {spec}", flush=True)
        subprocess.run(
            ["uv", "run", "--with", "pip", "python", "-m", "pip", "download", "-q", "--no-binary", ":all:",
             "--no-deps", spec, "-d", str(CACHE)], check=True,
        )  # fmt: skip
        found = [
            p
            for p in CACHE.glob("*.tar.gz")
            if p.name.lower().replace("_", "-").startswith(f"{name}-{version}")
        ]
    return found[0]


def checkout(sdist: Path, into: Path) -> Path:
    with tarfile.open(sdist) as archive:
        archive.extractall(into, filter="data")
    top = next(p for p in into.iterdir() if p.is_dir())
    git = ["git", "-C", str(top), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(top)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "Import the sdist (#1)"], check=True)
    return top


def lines_of_code(top: Path) -> int:
    return sum(
        len(p.read_text(errors="replace").splitlines())
        for p in top.rglob("*.py")
        if "test" not in p.name and "docs" not in p.parts and p.name not in ("setup.py", "conf.py")
    )


async def phases(db_url: str, run_id: str) -> dict[str, float]:
    """Wall seconds per phase, from the run ledger's steps (the whole suite's two runs are `suite`)."""
    ledger = await Ledger.connect(db_url, run_migrations=False)
    try:
        trace = await ledger.trace(run_id)
    finally:
        await ledger.close()
    times = {"setup": 0.0, "suite": 0.0, "generation": 0.0, "validation": 0.0}
    for step in trace.steps:
        if step.name == "setup":
            times["setup"] += step.duration or 0.0
        elif step.name == "exec" and "pynguin" in step.command:
            times["generation"] += step.duration or 0.0
        elif step.name == "exec" and CANDIDATES in step.command:
            times["validation"] += step.duration or 0.0
        elif step.name == "exec":
            times["suite"] += step.duration or 0.0
    return times


async def reruns(top: Path, branch: str, files: list[str], image: str) -> tuple[int, int]:
    """Kept tests that pass RERUNS times in a fresh clone of the branch, out of those kept."""
    fresh = Path(tempfile.mkdtemp(prefix="steward-bench-fresh-"))
    subprocess.run(["git", "clone", "-q", "--branch", branch, str(top), str(fresh / "ws")], check=True)
    give_to_sandbox(fresh / "ws")
    env = {"PYTHONPATH": "/workspace:/workspace/src", "PYTHONDONTWRITEBYTECODE": "1"}
    passed = 0
    async with DockerSandbox(fresh / "ws", Limits(command_timeout=300), run_id=f"bench-{fresh.name[-8:]}",
                             image=image, env=env) as sb:  # fmt: skip
        for test_file in sorted(set(files)):
            runs = [await sb.run(["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file])
                    for _ in range(RERUNS)]  # fmt: skip
            ok = all(r.ok for r in runs)
            kept_here = files.count(test_file)
            passed += kept_here if ok else 0
            print(
                f"    {test_file}: {kept_here} kept test(s), {RERUNS} reruns {'all passed' if ok else 'FAILED'}"
            )
    return passed, len(files)


def _report(out: str) -> tuple[list[dict[str, str]], int, list[dict[str, str]], list[str]]:
    """Coverage rows, candidates generated, dropped candidates and kept test files, as the run printed them.

    A run that kept nothing prints no pull-request body: its files and their fates come from the problems the
    engine records for each file that kept no test (coverage before, candidates dropped by reason).
    """
    lines = out.splitlines()
    rows = [m.groupdict() for line in lines if (m := ROW.match(line))]
    dropped = [m.groupdict() for line in lines if (m := DROPPED.match(line))]
    kept_files = [m["file"] for line in lines if (m := KEPT.match(line))]
    counts = COUNTS.search(out)
    generated = int(counts[1]) if counts else 0
    if not rows:
        for m in NOTHING.finditer(out):
            rows.append({"file": m["file"], "before": m["before"], "after": m["before"]})
            for n, reason in FATE.findall(m["fates"]):
                generated += int(n)
                dropped += [{"id": "?", "path": m["file"], "reason": reason, "detail": ""}] * int(n)
    return rows, generated, dropped, kept_files


def run_project(spec: str, settings: Settings, work: Path) -> dict[str, object]:
    print(f"== {spec}", flush=True)
    top = checkout(download(spec), work / spec.replace("==", "-"))
    size = lines_of_code(top)
    data = work / f"data-{spec}"
    env = {**os.environ, "STEWARD_DATA_DIR": str(data)}
    started = time.monotonic()
    done = subprocess.run(
        ["uv", "run", "steward", "run", "tests", "--repo", str(top), "--yes"],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    out = done.stdout + done.stderr
    run_id = (RUN_ID.findall(out) or ["?"])[0]
    rows, generated, dropped, kept_files = _report(out)
    print(f"  {size} lines of library code · exit {done.returncode} · {wall:.0f} s wall · run {run_id}")
    if done.returncode != 0:
        print("  " + "\n  ".join(out.strip().splitlines()[-6:]))
    print(f"  candidates generated {generated} · kept {len(kept_files)} · dropped {len(dropped)}")
    reasons = Counter(d["reason"] for d in dropped)
    if reasons:
        print("  dropped by reason: " + " · ".join(f"{r} {n}" for r, n in reasons.most_common()))
    for d in dropped:
        if d["id"] != "?":
            print(f"    dropped {d['id']} ({d['path']}): {d['reason']}, {d['detail'][:140]}")
    for row in rows:
        rise = float(row["after"]) - float(row["before"])
        print(f"  coverage {row['file']}: {row['before']}% -> {row['after']}% lines ({rise:+.1f})")
    times = anyio.run(phases, f"sqlite+aiosqlite:///{data / 'steward.db'}", run_id) if run_id != "?" else {}
    print("  phases: " + " · ".join(f"{k} {v:.1f} s" for k, v in times.items()), flush=True)
    good, total = (0, 0)
    if kept_files:
        good, total = anyio.run(reruns, top, "steward/tests/1", kept_files, settings.sandbox_image)
        print(f"  kept tests passing {RERUNS} fresh reruns: {good}/{total} ({100.0 * good / total:.0f}%)")
    return {"spec": spec, "size": size, "wall": wall, "rows": rows, "good": good, "total": total,
            "exit": done.returncode}  # fmt: skip


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--project", action="append", help="NAME==VERSION (repeatable); default: the PROJECTS below"
    )
    args = parser.parse_args()
    settings = Settings()
    limit = load_policy("tests").limits.run_timeout
    with tempfile.TemporaryDirectory(prefix="steward-bench-tests-") as tmp:
        results = [run_project(spec, settings, Path(tmp)) for spec in args.project or PROJECTS]
    good = sum(int(r["good"]) for r in results)  # type: ignore[call-overload]
    total = sum(int(r["total"]) for r in results)  # type: ignore[call-overload]
    low = [r for res in results for r in res["rows"] if float(r["before"]) < LOW]  # type: ignore[attr-defined]
    rise = sum(float(r["after"]) - float(r["before"]) for r in low) / len(low) if low else 0.0
    small = [r for r in results if int(r["size"]) <= LARGEST]  # type: ignore[call-overload]
    largest = max(small, key=lambda r: int(r["size"])) if small else None  # type: ignore[call-overload]
    inside = largest is not None and float(largest["wall"]) <= limit and largest["exit"] == 0  # type: ignore[arg-type]
    reruns_ok = total > 0 and good == total
    rise_ok = bool(low) and rise >= RISE
    print("== targets")
    print(f"  kept tests passing {RERUNS} reruns in a fresh checkout: {good}/{total} (target: all)")
    print(
        f"  files starting below {LOW:g}% lines: {len(low)}, average rise {rise:.1f} points (target: >= {RISE:g})"
    )
    if largest is not None:
        print(f"  largest library of <= {LARGEST:,} lines: {largest['spec']}, {largest['size']} lines, "
              f"{float(largest['wall']):.0f} s (run limit {limit:g} s)")  # type: ignore[arg-type]  # fmt: skip
    print(
        f"SUMMARY reruns {_verdict(reruns_ok)} ({good}/{total}) · rise {_verdict(rise_ok)} "
        f"({rise:.1f} points over {len(low)} file(s)) · run limit {_verdict(inside)}"
    )
    return 0 if reruns_ok and rise_ok and inside else 1


if __name__ == "__main__":
    raise SystemExit(main())
