"""Soak: `steward serve` and two `steward worker`s for a bounded time under a steady mix of signed deliveries.

Run: `uv run python bench/soak.py [--minutes 30] [--rate 50]` (loopback only; starts its own redis-server, a
fake GitHub (tests/fake_github_server.py) in a subprocess, the server and two workers on a SQLite ledger, the
README's single-host deployment). The mix: `/steward help` comments, issues opened, issues edited, pushes.
It prints deliveries sent/accepted, lost (a command accepted but never answered, an opened issue never
indexed; counted once the queue has drained, and the backlog the load left is printed apart), run twice (a
command answered more than once), the receiver's p50/p99 (target p99 <= 20 ms), and
every process's RSS at the window start (minute 5 of 30, scaled for shorter runs) and at the end (target for
the server and the workers: growth <= 10%), each process's CPU from the load's start to the drain's end, and
the workers' CPU per job (on a machine whose cores are all busy, what bounds how fast a backlog drains); it
exits 1 when a target fails.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXAMPLES = ROOT / "tests/fixtures/webhooks/examples"
SECRET = "soak-secret-not-real"
STEWARD = str(Path(sys.executable).parent / "steward")
P99_TARGET_MS = 20.0
GROWTH_TARGET = 0.10
DRAIN_SECONDS = 120.0
"""After the last delivery, how long the workers get to finish what was accepted once the queue is empty
(a backlog still draining gets more time, up to DRAIN_CAP_SECONDS, while it shrinks)."""
DRAIN_CAP_SECONDS = 1800.0
STEWARD_PROCESSES = ("serve", "worker-1", "worker-2")
"""The processes the RSS target applies to (Redis and the fake GitHub keep what they are sent)."""
THREADS = 20
"""The issues the commands are spread over: each thread grows by two comments a second at 50/s."""
MAX_IN_FLIGHT = 64
"""A bounded load: sends past this many wait for a free connection, and the generator's lag says so."""


def fake_github(port: int) -> None:
    """Fake GitHub mode (a subprocess): tests/fake_github_server's app plus a read-out of Steward's comments."""
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tests.fake_github_server import make_app
    from tests.github_mock import FakeGitHub

    github = FakeGitHub(permissions={"Codertocat": "admin"})
    app = make_app(github, [])  # calls are not kept: a list growing for 30 minutes would skew RSS

    async def comments(_: Request) -> JSONResponse:
        return JSONResponse([c["body"] for items in github.comments.values() for c in items])

    app.router.routes.insert(0, Route("/_soak/comments", comments))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def load(name: str) -> dict[str, Any]:
    return dict(json.loads((EXAMPLES / name).read_text()))


class Mix:
    """Signed deliveries shaped like GitHub's: 40% commands in comments, 20% opened, 20% edited, 20% pushes."""

    def __init__(self) -> None:
        self.comment = load("issue_comment/created.with-installation.payload.json")
        installation = self.comment["installation"]
        self.opened = load("issues/opened.payload.json") | {"installation": installation}
        self.edited = load("issues/edited.payload.json") | {"installation": installation}
        self.push = load("push/with-installation.payload.json")
        self.commands: list[int] = []
        self.issues: list[int] = []
        self.edits: list[int] = []
        """What was accepted (a 2xx): a delivery refused or cut off is GitHub's to redeliver, not lost."""
        self._pending: dict[int, tuple[list[int], int]] = {}

    def answered(self, i: int, accepted: bool) -> None:
        """Count delivery `i`'s command or opened issue among the expected outcomes once it was accepted."""
        kept = self._pending.pop(i, None)
        if kept is not None and accepted:
            kept[0].append(kept[1])

    def jobs(self) -> int:
        """The jobs the accepted deliveries made: a reply per command, a triage per opened issue, an index
        update per edit (a push makes none)."""
        return len(self.commands) + len(self.issues) + len(self.edits)

    def delivery(self, i: int) -> tuple[str, dict[str, Any]]:
        kind = i % 5
        if kind in (0, 1):  # on one of THREADS busy issues, dated now as GitHub dates a new comment
            self.comment["issue"]["number"] = 1 + (i // 5) % THREADS
            self.comment["comment"]["id"] = 50_000_000 + i
            self.comment["comment"]["created_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            self.comment["comment"]["body"] = f"Soak {i}\n/steward help"
            self._pending[i] = (self.commands, 50_000_000 + i)
            return "issue_comment", self.comment
        if kind == 2:
            self.opened["issue"]["number"] = 10_000 + i
            self.opened["issue"]["id"] = 70_000_000 + i
            self.opened["issue"]["title"] = f"Soak issue {i} about a crash in the parser"
            self._pending[i] = (self.issues, 10_000 + i)
            return "issues", self.opened
        if kind == 3:
            self.edited["issue"]["number"] = 10_000 + i - 1
            self.edited["issue"]["body"] = f"Edited {i}"
            self._pending[i] = (self.edits, i)
            return "issues", self.edited
        self.push["after"] = f"{i:040x}"
        return "push", self.push


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered at {url}")


async def drive(port: int, minutes: float, rate: float, procs: dict[str, int]) -> dict[str, Any]:
    mix = Mix()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    end = time.monotonic() + minutes * 60
    window = minutes * 60 / 6  # minute 5 of 30
    rss_start: dict[str, float] = {}
    started = time.monotonic()
    in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10, limits=limits) as client:

        async def send(i: int) -> None:
            event, payload = mix.delivery(i)
            body = json.dumps(payload).encode()
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": f"soak-{i}",
                "X-Hub-Signature-256": "sha256="
                + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
            }
            async with in_flight:  # latency is the server's: timed once a connection slot is ours
                t0 = time.perf_counter()
                try:
                    answer = await client.post("/webhooks", content=body, headers=headers)
                    code = answer.status_code
                except httpx.HTTPError:
                    code = 0
                latencies.append(time.perf_counter() - t0)
            statuses[code] = statuses.get(code, 0) + 1
            mix.answered(i, 200 <= code < 300)

        tasks: set[asyncio.Task[None]] = set()
        i = 0
        behind = 0.0
        while time.monotonic() < end:
            due = started + i / rate
            # Always yield: a generator behind schedule that never awaits starves its own sends (they sat
            # unsent until the server's header timeout, and the bench measured itself, not Steward).
            wait = due - time.monotonic()
            await asyncio.sleep(max(wait, 0))
            behind = max(behind, -wait)
            task = asyncio.create_task(send(i))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
            if not rss_start and time.monotonic() - started >= window:
                rss_start = {name: rss_mib(pid) for name, pid in procs.items()}
        await asyncio.gather(*tasks)
    return {
        "sent": i,
        "statuses": statuses,
        "latencies": latencies,
        "rss_start": rss_start,
        "mix": mix,
        "behind": behind,
    }


def queued(redis_port: int) -> int:
    """Jobs waiting in arq's queue (a backlog, not a loss: they run when a worker is free)."""
    from arq.constants import default_queue_name

    answer = subprocess.run(
        ["redis-cli", "-p", str(redis_port), "zcard", default_queue_name], capture_output=True, text=True
    )
    return int(answer.stdout.strip() or 0)


def drain(redis_port: int, cap: float = DRAIN_CAP_SECONDS) -> tuple[int, float]:
    """Wait while the backlog shrinks, up to `cap` seconds: (the backlog when the load ended, seconds until
    the queue was empty, or -1 when it was not)."""
    started = time.monotonic()
    backlog = last = queued(redis_port)
    last_change = started
    while last:
        time.sleep(2)
        now_queued = queued(redis_port)
        if now_queued < last:
            last, last_change = now_queued, time.monotonic()
        if time.monotonic() - last_change > DRAIN_SECONDS or time.monotonic() - started > cap:
            return backlog, -1.0
    return backlog, time.monotonic() - started


def outcomes(api: str, db: Path, mix: Mix, accepted: bool) -> tuple[int, int, int]:
    """(lost, run twice, answered) once the queue is empty: commands answered by the count of their reply
    markers, opened issues by their row in the duplicate index."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        bodies = httpx.get(f"{api}/_soak/comments", timeout=30).json()
        replies: dict[int, int] = {}
        for body in bodies:
            for line in body.splitlines():
                if line.startswith("<!-- steward:reply "):
                    cid = int(line.split()[2].split(":")[0])
                    replies[cid] = replies.get(cid, 0) + 1
        with sqlite3.connect(db) as conn:
            indexed = {row[0] for row in conn.execute("SELECT number FROM issue_index")}
        lost = sum(1 for c in mix.commands if c not in replies) + sum(
            1 for n in mix.issues if n not in indexed
        )
        if lost == 0 or time.monotonic() > deadline or not accepted:
            twice = sum(1 for n in replies.values() if n > 1)
            return lost, twice, len(replies)
        time.sleep(2)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def report(
    args: argparse.Namespace,
    result: dict[str, Any],
    rss_end: dict[str, float],
    accepted: int,
    counts: tuple[int, int, int, int],
    drained: tuple[int, float],
) -> list[str]:
    """Print the figures; the targets that failed."""
    lost, twice, answered, errors = counts
    backlog, drain_seconds = drained
    lat = result["latencies"]
    p50, p99 = percentile(lat, 0.5), percentile(lat, 0.99)
    print(
        f"soak: {args.minutes:g} min at {args.rate:g}/s, 2 workers, SQLite ledger, 2 cores ({os.cpu_count()})"
    )
    print(f"deliveries sent {result['sent']}, accepted {accepted}, answers by status {result['statuses']}")
    print(f"the load generator fell at most {result['behind']:.2f} s behind its schedule")
    print(
        f"commands {len(result['mix'].commands)} answered {answered}; issues opened {len(result['mix'].issues)}"
    )
    took = f"drained in {drain_seconds:.0f} s" if drain_seconds >= 0 else "NOT drained"
    print(f"backlog when the load ended: {backlog} queued jobs, {took}")
    print(f"lost (accepted, never processed) {lost}; run twice {twice}; worker tracebacks {errors}")
    print(f"receiver latency p50 {p50:.1f} ms, p99 {p99:.1f} ms (target <= {P99_TARGET_MS:g} ms)")
    cpu = result.get("cpu", {})
    for name, (used, wall) in cpu.items():
        print(f"CPU {name}: {used:.1f} s over {wall:.0f} s, {used / wall:.2f} of a core")
    workers = sum(used for name, (used, _) in cpu.items() if name.startswith("worker-"))
    if result["mix"].jobs() and drain_seconds >= 0:  # every job ran: the workers' cost per job
        jobs = result["mix"].jobs()
        print(f"workers' CPU per job: {1000 * workers / jobs:.2f} ms over {jobs} jobs")
    failures = []
    window = args.minutes / 6
    for name, end in rss_end.items():
        begin = result["rss_start"].get(name, 0.0)
        growth = (end - begin) / begin if begin else 0.0
        aside = "" if name in STEWARD_PROCESSES else " (not Steward's: no target)"
        print(
            f"RSS {name}: {begin:.1f} MiB at minute {window:.2g}, {end:.1f} MiB at the end, growth {growth:+.1%}"
            + aside
        )
        if growth > GROWTH_TARGET and not aside:
            failures.append(f"RSS of {name} grew {growth:.1%}")
    if drain_seconds < 0:
        failures.append("the backlog did not drain, so lost and queued cannot be told apart")
    if lost or twice:
        failures.append(f"{lost} lost, {twice} twice")
    if p99 > P99_TARGET_MS:
        failures.append(f"p99 {p99:.1f} ms")
    if accepted < result["sent"]:
        failures.append(f"{result['sent'] - accepted} deliveries not accepted")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=50.0, help="deliveries per second")
    parser.add_argument(
        "--drain-minutes",
        type=float,
        default=DRAIN_CAP_SECONDS / 60,
        help="longest wait for a backlog to drain",
    )
    parser.add_argument("--logs", type=Path, help="copy every process's log to this folder at the end")
    parser.add_argument("--fake-github", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake_github:
        fake_github(args.fake_github)
        return 0
    from tests.conftest import free_port

    with tempfile.TemporaryDirectory(prefix="steward-soak-") as tmp:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        redis_port, web_port, gh_port = free_port(), free_port(), free_port()
        data = Path(tmp) / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")} | {
            "STEWARD_WEBHOOK_SECRET": SECRET,
            "STEWARD_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "STEWARD_DATA_DIR": str(data),
            "STEWARD_GITHUB_API_URL": f"http://127.0.0.1:{gh_port}",
            "STEWARD_APP_ID": "1",
            "STEWARD_PRIVATE_KEY": key.decode(),
            "STEWARD_REDELIVER_EVERY_MINUTES": "0",
            "STEWARD_DIGEST_PASS": "false",
            "PYTHONPATH": str(ROOT),
        }
        logs = Path(tmp) / "logs"
        logs.mkdir()
        commands = {
            "redis": ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                      "--appendonly", "no", "--dir", tmp],
            "fake-github": [sys.executable, __file__, "--fake-github", str(gh_port)],
            "serve": [STEWARD, "serve", "--port", str(web_port)],
        }  # fmt: skip
        procs: dict[str, subprocess.Popen[bytes]] = {}

        def start(name: str, argv: list[str]) -> None:
            with (logs / f"{name}.log").open("wb") as sink:
                procs[name] = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=sink, stderr=sink)

        try:
            for name, argv in commands.items():
                start(name, argv)
            wait_http(f"http://127.0.0.1:{gh_port}/_soak/comments")
            wait_http(f"http://127.0.0.1:{web_port}/healthz")
            subprocess.run([STEWARD, "migrate"], env=env, cwd=ROOT, check=True)
            for n in (1, 2):
                start(f"worker-{n}", [STEWARD, "worker"])
            time.sleep(5)
            for name, proc in procs.items():
                if proc.poll() is not None:
                    raise SystemExit(f"{name} exited: {(logs / f'{name}.log').read_text()[-2000:]}")
            pids = {name: proc.pid for name, proc in procs.items()}
            counted = pids | {"load generator": os.getpid()}
            cpu_start, wall_start = (
                {name: cpu_seconds(pid) for name, pid in counted.items()},
                time.monotonic(),
            )
            result = asyncio.run(drive(web_port, args.minutes, args.rate, pids))
            rss_end = {name: rss_mib(pid) for name, pid in pids.items()}  # before the drain: the load's
            drained = drain(redis_port, args.drain_minutes * 60)
            wall = time.monotonic() - wall_start
            result["cpu"] = {
                name: (cpu_seconds(pid) - cpu_start[name], wall) for name, pid in counted.items()
            }
            accepted = sum(n for code, n in result["statuses"].items() if 200 <= code < 300)
            lost, twice, answered = outcomes(
                f"http://127.0.0.1:{gh_port}", data / "steward.db", result["mix"], accepted > 0
            )
        finally:
            for proc in reversed(procs.values()):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs.values():
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        errors = sum((logs / f"worker-{n}.log").read_text().count("Traceback") for n in (1, 2))
        if args.logs:  # the processes' logs outlive the temporary directory
            shutil.copytree(logs, args.logs, dirs_exist_ok=True)
    failures = report(args, result, rss_end, accepted, (lost, twice, answered, errors), drained)
    print("FAIL: " + "; ".join(failures) if failures else "PASS")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
