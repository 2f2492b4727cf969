"""Benchmark a `/metrics` scrape of `steward serve`, its registry filled with a busy service's series.

Run: `uv run python bench/metrics.py` (loopback only; starts its own redis-server and server, ~10 s).
The server fills every `steward_*` metric with the label sets a busy installation has (every event and
outcome, every job function and outcome with its durations, workflows x engines x end states, every limit,
tools, GitHub statuses...), then the client times `--scrapes` sequential GET /metrics over HTTP on loopback
(the queue depth's Redis round trip included) and prints the median and p95 against the 20 ms target.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-not-real"
TARGET_P95_MS = 20.0

EVENTS = ("issue_comment", "issues", "pull_request", "pull_request_review", "installation",
          "installation_repositories", "other")  # fmt: skip
OUTCOMES = ("queued", "duplicate", "ignored", "rejected", "unavailable", "error", "disconnected")
FUNCTIONS = ("handle_comment", "triage_duplicates", "sync_installation", "review_submitted", "plan_run",
             "work_run", "pull_synchronized", "pull_closed", "index_event", "backfill_index")  # fmt: skip
JOB_OUTCOMES = ("ok", "retry", "failed", "cancelled")
WORKFLOWS = ("docs", "tests", "duplicates", "digest")
STATES = ("proposed", "merged", "closed", "failed", "cancelled")
LIMITS = ("memory", "processes", "time", "output", "disk")
TOOLS = ("read_file", "write_file", "list_files", "search", "run_command", "get_issue", "diff", "run_tests",
         "coverage", "other")  # fmt: skip
STATUSES = (
    "200",
    "201",
    "204",
    "304",
    "401",
    "403",
    "404",
    "409",
    "422",
    "429",
    "500",
    "502",
    "503",
    "error",
)


def fill() -> None:
    """Put a busy service's series into the registry."""
    _fill_edge_and_jobs()
    _fill_runs_and_calls()


def _fill_edge_and_jobs() -> None:
    from app.observability import metrics as m

    for n, event in enumerate(EVENTS):
        for outcome in OUTCOMES:
            m.DELIVERIES.labels(event, outcome).inc(1000 + n)
    for i in range(5000):
        m.DELIVERY_SECONDS.observe(0.0002 * (i % 50))
    for function in FUNCTIONS:
        for outcome in JOB_OUTCOMES:
            m.JOBS.labels(function, outcome).inc(100)
        for i in range(200):
            m.JOB_SECONDS.labels(function).observe(0.05 * i)
        m.JOBS_RUNNING.labels(function).set(1)
    m.QUEUE_DEPTH.set(12)


def _fill_runs_and_calls() -> None:
    from app.observability import metrics as m

    for workflow in WORKFLOWS:
        for engine in ("builtin", "agent"):
            for state in STATES:
                m.RUNS.labels(workflow, engine, state).inc(10)
    for limit in LIMITS:
        m.SANDBOX_KILLS.labels(limit).inc(3)
    for i in range(1000):
        m.SANDBOX_COMMANDS.observe(0.1 * i)
    m.MODEL_REQUESTS.labels("gpt-model").inc(500)
    for direction in ("input", "output"):
        m.MODEL_TOKENS.labels("gpt-model", direction).inc(10**6)
    m.MODEL_COST.labels("gpt-model").inc(12.5)
    for tool in TOOLS:
        for outcome in ("ok", "failed", "refused"):
            m.TOOL_CALLS.labels(tool, outcome).inc(40)
    for decision in ("commented", "answered", "held", "silent"):
        m.DUPLICATE_DECISIONS.labels(decision).inc(25)
    for status in STATUSES:
        m.GITHUB_REQUESTS.labels(status).inc(300)
    for resource in ("core", "search", "graphql"):
        m.GITHUB_RATE_REMAINING.labels(resource).set(4000)


def serve(port: int) -> None:
    """Server mode (a subprocess): the app as `steward serve` runs it, its registry filled first."""
    import uvicorn

    from app.settings import load_settings
    from app.web.app import create_app
    from app.web.server import uvicorn_config

    fill()
    settings = load_settings()
    uvicorn.Server(
        uvicorn_config(create_app(settings), settings, "127.0.0.1", port, log_level="warning")
    ).run()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def render_alone(times: int = 100) -> float:
    """The registry's text rendering without HTTP or Redis, in ms (the client fills its own registry)."""
    from app.observability.metrics import render

    fill()
    took: list[float] = []
    for _ in range(times):
        started = time.perf_counter()
        render()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took)


def measure(port: int, scrapes: int) -> bool:
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(20):  # warm the connection and the server's code paths
            client.get("/metrics").raise_for_status()
        times: list[float] = []
        baseline: list[float] = []
        for _ in range(scrapes):  # interleaved, so both see the same machine load
            for path, into in (("/metrics", times), ("/healthz", baseline)):
                started = time.perf_counter()
                answer = client.get(path)
                into.append((time.perf_counter() - started) * 1000)
                answer.raise_for_status()
        answer = client.get("/metrics")
    lines = [line for line in answer.text.splitlines() if line and not line.startswith("#")]
    steward = [line for line in lines if line.startswith("steward_")]
    median, p95 = statistics.median(times), statistics.quantiles(times, n=20)[-1]
    print(f"/metrics: {len(answer.content)} bytes, {len(lines)} samples ({len(steward)} steward_*)")
    print(f"scrape over {scrapes} requests: median {median:.2f} ms, p95 {p95:.2f} ms")
    base_median, base_p95 = statistics.median(baseline), statistics.quantiles(baseline, n=20)[-1]
    print(
        f"/healthz in the same run (the HTTP round trip alone): median {base_median:.2f} ms, p95 {base_p95:.2f} ms"
    )
    print(f"render() alone, in this process with the same series: median {render_alone():.2f} ms")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    ok = p95 <= TARGET_P95_MS
    print(f"{'PASS' if ok else 'FAIL'}: p95 {p95:.2f} ms vs target {TARGET_P95_MS:g} ms")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scrapes", type=int, default=300)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    redis_bin = shutil.which("redis-server")
    if redis_bin is None:
        raise SystemExit("redis-server is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        redis_port, web_port = free_port(), free_port()
        redis_proc = subprocess.Popen(
            [redis_bin, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--dir", tmp],
            stdout=subprocess.DEVNULL,
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
        env |= {"STEWARD_WEBHOOK_SECRET": SECRET, "STEWARD_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}
        env.setdefault("PYTHONPATH", str(ROOT))
        # As a module from the root, so that the server imports the project as the tests do.
        command = [sys.executable, "-m", "bench.metrics", "--serve", str(web_port)]
        server = subprocess.Popen(command, env=env, cwd=ROOT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", web_port), timeout=0.2).close()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.1)
            ok = measure(web_port, args.scrapes)
        finally:
            server.terminate()
            server.wait(10)
            redis_proc.terminate()
            redis_proc.wait(10)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
