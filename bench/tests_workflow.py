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
from pathlib import Path

sys.path[0] = str(
    Path(__file__).resolve().parent.parent
)  # the project root, not bench/ (see bench/sandbox.py)

import anyio  # noqa: E402

from app.settings import Settings  # noqa: E402
from jobs.ledger import Ledger  # noqa: E402
from policies.loader import load_policy  # noqa: E402
from sandbox.docker_sandbox import DockerSandbox  # noqa: E402
from sandbox.git import give_to_sandbox  # noqa: E402
from sandbox.limits import Limits  # noqa: E402

PROJECTS = ("inflection==0.5.1", "six==1.16.0", "text-unidecode==1.3")
"""Small pure-Python libraries whose sdists include their tests and build with setuptools (no index needed)."""
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "steward-bench" / "sdists"
RERUNS = 5
ROW = re.compile(r"^\| `(?P<file>[^`]+)` \| (?P<before>[\d.]+)% lines · [^|]* \| (?P<after>[\d.]+)% lines")
COUNTS = re.compile(r"Candidates generated: (\d+) · kept: (\d+)")
KEPT = re.compile(r"^- kept `(?P<name>[^`]+)` in `(?P<file>[^`]+)`")
RUN_ID = re.compile(r"Run `?(r-[0-9a-f]+)`?")


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
    ledger = await Ledger.connect(db_url, run_migrations=False)
    try:
        trace = await ledger.trace(run_id)
    finally:
        await ledger.close()
    times = {"setup": 0.0, "generation": 0.0, "validation": 0.0}
    for step in trace.steps:
        if step.name == "setup":
            times["setup"] += step.duration or 0.0
        elif step.name == "exec" and "pynguin" in step.command:
            times["generation"] += step.duration or 0.0
        elif step.name == "exec":
            times["validation"] += step.duration or 0.0
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
    rows = [m.groupdict() for line in out.splitlines() if (m := ROW.match(line))]
    counts = COUNTS.search(out)
    kept_files = [m["file"] for line in out.splitlines() if (m := KEPT.match(line))]
    print(f"  {size} lines of library code · exit {done.returncode} · {wall:.0f} s wall · run {run_id}")
    if done.returncode != 0:
        print("  " + "\n  ".join(out.strip().splitlines()[-6:]))
    print(f"  candidates {counts[1] if counts else 0} · kept {counts[2] if counts else 0}")
    for row in rows:
        print(f"  {row['file']}: {row['before']}% -> {row['after']}% lines")
    times = anyio.run(phases, f"sqlite+aiosqlite:///{data / 'steward.db'}", run_id) if run_id != "?" else {}
    print("  phases: " + " · ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    good, total = (0, 0)
    if kept_files:
        good, total = anyio.run(reruns, top, "steward/tests/1", kept_files, settings.sandbox_image)
    return {"spec": spec, "size": size, "wall": wall, "rows": rows, "good": good, "total": total}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--project", action="append", help="NAME==VERSION (repeatable); default: three small ones"
    )
    args = parser.parse_args()
    settings = Settings()
    limit = load_policy("tests").limits.run_timeout
    with tempfile.TemporaryDirectory(prefix="steward-bench-tests-") as tmp:
        results = [run_project(spec, settings, Path(tmp)) for spec in args.project or PROJECTS]
    good = sum(int(r["good"]) for r in results)  # type: ignore[call-overload]
    total = sum(int(r["total"]) for r in results)  # type: ignore[call-overload]
    low = [r for res in results for r in res["rows"] if float(r["before"]) < 80]  # type: ignore[attr-defined]
    rise = sum(float(r["after"]) - float(r["before"]) for r in low) / len(low) if low else 0.0
    inside = all(float(r["wall"]) <= limit for r in results if int(r["size"]) <= 5000)  # type: ignore[call-overload]
    print("== targets")
    print(f"  kept tests passing {RERUNS} reruns in a fresh checkout: {good}/{total} (target: all)")
    print(f"  files starting below 80% lines: {len(low)}, average rise {rise:.1f} points (target: >= 10)")
    print(f"  every library of <= 5,000 lines inside the run limit of {limit:g} s: {inside}")
    return 0 if total and good == total and (not low or rise >= 10) and inside else 1


if __name__ == "__main__":
    raise SystemExit(main())
