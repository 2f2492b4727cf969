"""Benchmark the receiver: signed issue_comment deliveries vs a bare endpoint on one uvicorn worker + real Redis.

Run: `uv run python bench/webhooks.py` (loopback only; starts and stops its own redis-server and server).
Targets: at least 85% of the bare endpoint's throughput (issue 15; issue 2 asked 70%); p99 under 50 ms at 200 deliveries/s.
Two bare references run on the same server: an empty `Response(202)` (the strictest) and an idiomatic
FastAPI route returning a small JSON body; the verdict line uses the strictest. The server is what
`steward serve` runs: WebhookEdge, which hands POST /webhooks to the receiver and everything else (the two
references included, after one path comparison) to the FastAPI app. Logging is at INFO, the default.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = ROOT / "tests/fixtures/webhooks/examples/issue_comment/created.with-installation.payload.json"
SECRET = "bench-secret-not-real"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"process exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listening on port {port}")


def serve(port: int) -> None:
    """Server mode (a subprocess): the Steward app plus a bare endpoint, one uvicorn worker."""

    import uvicorn
    from fastapi import FastAPI
    from starlette.responses import Response

    from app.settings import load_settings
    from app.web.app import create_app
    from app.web.cli import configure_logging
    from app.web.server import settle_heap

    settings = load_settings()
    configure_logging(settings.log_level)  # INFO by default, exactly as `steward serve`
    edge = create_app(settings)
    app: FastAPI = edge.api  # the references are FastAPI routes; POST /webhooks goes to the receiver first

    async def bare() -> Response:
        return Response(status_code=202)

    async def fastapi_json() -> dict[str, bool]:
        return {"ok": True}

    app.add_api_route("/bare", bare, methods=["POST"])  # the leanest answer: no body, no serialisation
    app.add_api_route("/fastapi", fastapi_json, methods=["POST"], status_code=202)  # an idiomatic route
    settle_heap()  # as `steward serve` does just before it serves
    profile = os.environ.get("BENCH_PROFILE")  # a path: write the server's cProfile stats there
    if not profile:
        uvicorn.run(edge, host="127.0.0.1", port=port, log_level="warning", access_log=False, workers=1)
        return
    import cProfile
    import signal

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with cProfile.Profile() as profiler:
        try:
            uvicorn.run(edge, host="127.0.0.1", port=port, log_level="warning", access_log=False, workers=1)
        finally:
            profiler.dump_stats(profile)


def deliveries(count: int, start: int) -> list[tuple[bytes, dict[str, str]]]:
    """Unique, signed issue_comment.created deliveries (each a distinct comment, so each is a new job).

    Each comment holds a command: the receiver drops comments that cannot (no line starts with "/"), and the
    path measured here is the one that verifies, parses, routes and enqueues.
    """
    payload: dict[str, Any] = json.loads(PAYLOAD.read_text())
    payload["comment"]["body"] = "Thanks!\n/steward help"
    out = []
    for i in range(start, start + count):
        payload["comment"]["id"] = 10_000_000 + i
        body = json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "issue_comment",
            "X-GitHub-Delivery": f"bench-{i}",
            "X-Hub-Signature-256": signature,
        }
        out.append((body, headers))
    return out


class RawConnection:
    """A keep-alive HTTP/1.1 connection with next to no client overhead, so the server is what is measured."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> RawConnection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.writer.write(head.encode() + body)
        status_and_headers = await self.reader.readuntil(b"\r\n\r\n")
        status = int(status_and_headers.split(b" ", 2)[1])
        length = 0
        for line in status_and_headers.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


class Client:
    """A pool of connections, either raw (default) or httpx's AsyncClient (heavier: it becomes the bottleneck)."""

    def __init__(self, port: int, size: int, use_httpx: bool) -> None:
        self.port, self.size, self.use_httpx = port, size, use_httpx
        self.idle: asyncio.Queue[RawConnection] = asyncio.Queue()
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        self.http = httpx.AsyncClient(limits=limits, timeout=30) if use_httpx else None

    async def start(self) -> None:
        if self.http is None:
            for _ in range(self.size):
                self.idle.put_nowait(await RawConnection.open(self.port))

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.http is not None:
            response = await self.http.post(
                f"http://127.0.0.1:{self.port}{path}", content=body, headers=headers
            )
            return response.status_code, response.content
        connection = await self.idle.get()
        try:
            return await connection.post(path, body, headers)
        finally:
            self.idle.put_nowait(connection)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()
        while not self.idle.empty():
            self.idle.get_nowait().close()


async def timed_post(client: Client, url: str, body: bytes, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    status, text = await client.post(url, body, headers)
    if status != 202:
        raise SystemExit(f"{url} answered {status}: {text!r}")
    return time.perf_counter() - started


async def closed_loop(
    client: Client, url: str, work: list[tuple[bytes, dict[str, str]]], concurrency: int, pids: list[int]
) -> tuple[float, list[float], list[float]]:
    """Send `work` with `concurrency` requests in flight: requests per second, latencies, CPU ms per request."""
    latencies: list[float] = []
    queue = iter(work)

    async def worker() -> None:
        for body, headers in queue:
            latencies.append(await timed_post(client, url, body, headers))

    cpu_before = [cpu_seconds(pid) for pid in pids]
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    cpu = [
        (cpu_seconds(pid) - before) * 1000 / len(work) for pid, before in zip(pids, cpu_before, strict=True)
    ]
    return len(work) / elapsed, latencies, cpu


async def fixed_rate(
    client: Client, url: str, work: list[tuple[bytes, dict[str, str]]], rate: float
) -> list[float]:
    """Send at a fixed rate; latency counts from each request's scheduled time (no coordinated omission)."""
    t0 = time.perf_counter() + 0.1

    async def one(i: int, body: bytes, headers: dict[str, str]) -> float:
        scheduled = t0 + i / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        await timed_post(client, url, body, headers)
        return time.perf_counter() - scheduled

    return list(await asyncio.gather(*(one(i, b, h) for i, (b, h) in enumerate(work))))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(latencies: list[float], q: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


Phase = tuple[float, list[float], list[float]]  # requests per second, latencies, CPU ms per request
ENDPOINTS = (("bare", "/bare"), ("fastapi", "/fastapi"), ("steward", "/webhooks"))
"""Measured in this order in every round: two references on the same server, then Steward's receiver."""


async def measure(
    port: int, args: argparse.Namespace, pids: list[int], use_httpx: bool, base: int
) -> dict[str, Any]:
    """One client kind: warm-up, alternating bare/Steward closed-loop rounds, then the fixed-rate run.

    Rounds alternate so that both endpoints see the same background load (the machine may be shared).
    """
    client = Client(port, args.concurrency, use_httpx)
    await client.start()
    rounds: list[dict[str, Phase]] = []
    try:
        c, n = args.concurrency, args.requests // args.rounds
        for _label, path in ENDPOINTS:  # warm up every path
            await closed_loop(client, path, deliveries(200, base), c, pids)
        for r in range(args.rounds):
            phases: dict[str, Phase] = {}
            for label, path in ENDPOINTS:
                first = base + 100_000 + r * n if path == "/webhooks" else base + 1_000
                phases[label] = await closed_loop(client, path, deliveries(n, first), c, pids)
            rounds.append(phases)
        paced = deliveries(int(args.rate * args.seconds), base + 200_000)
        rate = await fixed_rate(client, "/webhooks", paced, args.rate)
    finally:
        await client.close()
    return {"rounds": rounds, "rate": rate, "jobs": 200 + n * args.rounds + len(paced)}


def report(name: str, results: dict[str, Any], args: argparse.Namespace) -> tuple[float, float]:
    """Print one client's figures; returns (median ratio to the empty Response, p99 ms at the fixed rate)."""
    rounds: list[dict[str, Phase]] = results["rounds"]
    print(
        f"{name}: closed loop, {args.requests} requests each in {args.rounds} alternating rounds, "
        f"concurrency {args.concurrency}"
    )
    for label, _path in ENDPOINTS:
        phases = [each[label] for each in rounds]
        rps = ", ".join(f"{p[0]:.0f}" for p in phases)
        latencies = [x for p in phases for x in p[1]]
        server_cpu = statistics.median(p[2][0] for p in phases)
        redis_cpu = statistics.median(p[2][1] for p in phases)
        print(
            f"  {label:8s} req/s per round: {rps}   p50 {pct(latencies, 0.5):.2f} ms   "
            f"p99 {pct(latencies, 0.99):.2f} ms   CPU per request: server {server_cpu:.3f} ms, "
            f"redis {redis_cpu:.3f} ms"
        )
    ratio = 0.0
    for reference, meaning in (("fastapi", "an idiomatic FastAPI route"), ("bare", "an empty Response")):
        ratios = [each["steward"][0] / each[reference][0] for each in rounds]
        ratio = statistics.median(ratios)
        print(
            f"  ratio    {ratio:.1%} of {reference} ({meaning}) throughput (rounds: "
            + ", ".join(f"{r:.0%}" for r in ratios)
            + ")"
        )
    rate = results["rate"]
    print(
        f"  fixed rate {args.rate:.0f}/s for {args.seconds:.0f} s: p50 {pct(rate, 0.5):.2f} ms, "
        f"p99 {pct(rate, 0.99):.2f} ms, max {max(rate) * 1000:.2f} ms"
    )
    return ratio, pct(rate, 0.99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--httpx", action="store_true", help="also measure with httpx's AsyncClient")
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
            [
                redis_bin,
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                tmp,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
        env |= {
            "STEWARD_WEBHOOK_SECRET": SECRET,
            "STEWARD_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "PYTHONPATH": str(ROOT),
        }
        log = Path(tmp) / "server.log"
        with log.open("wb") as sink:
            server = subprocess.Popen(
                [sys.executable, __file__, "--serve", str(web_port)], env=env, stdout=sink, stderr=sink
            )
        try:
            wait_for_port(redis_port, redis_proc)
            wait_for_port(web_port, server)
            pids = [server.pid, redis_proc.pid]
            load_before = os.getloadavg()[0]
            with_raw = asyncio.run(measure(web_port, args, pids, use_httpx=False, base=0))
            with_httpx = asyncio.run(measure(web_port, args, pids, True, 1_000_000)) if args.httpx else None
            queued = int(
                subprocess.run(
                    ["redis-cli", "-p", str(redis_port), "ZCARD", "arq:queue"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
        finally:
            server.terminate()
            server.wait(timeout=10)
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
        print(
            f"one uvicorn worker (h11, asyncio loop), real redis-server; payload {PAYLOAD.name}; "
            f"load average before/after: {load_before:.1f}/{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        ratio, p99 = report(
            "raw keep-alive sockets (little client cost, so the server is measured)", with_raw, args
        )
        expected = with_raw["jobs"]
        if with_httpx is not None:
            report("httpx.AsyncClient (client-bound on 2 cores: flatters the ratio)", with_httpx, args)
            expected += with_httpx["jobs"]
        print(f"jobs in the arq queue: {queued} (expected {expected}: every delivery enqueued once)")
        ok = ratio >= 0.85 and p99 < 50 and queued == expected
        print(
            f"throughput ratio {ratio:.1%} (target >= 85%): {'met' if ratio >= 0.85 else 'MISSED'}; "
            f"p99 at {args.rate:.0f}/s {p99:.1f} ms (target < 50 ms): {'met' if p99 < 50 else 'MISSED'}"
        )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
