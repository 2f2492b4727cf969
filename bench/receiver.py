"""Benchmark the receiver against hostile clients: slowloris headers, a stalled body, and large bodies at once.

Run: `uv run python bench/receiver.py` (loopback only; starts its own redis-server and server, ~1 minute).
It prints how long the server keeps five slowloris connections and one stalled body, and its RSS before,
at its peak and after eight signed 24 MiB deliveries sent at once. `--plain` serves the app with plain
uvicorn h11, as `steward serve` did before the read deadlines; run it with `PYTHONPATH` set to an older
checkout to measure that checkout.
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
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = ROOT / "tests/fixtures/webhooks/examples/issue_comment/created.with-installation.payload.json"
SECRET = "bench-secret-not-real"
CAP_SECONDS = 45.0
"""How long a hostile connection is watched at most."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(port: int, plain: bool) -> None:
    """Server mode (a subprocess): the app as `steward serve` runs it, or as plain uvicorn h11 ran it."""
    import uvicorn

    from app.settings import load_settings
    from app.web.app import create_app

    settings = load_settings()
    app = create_app(settings)
    if plain:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, http="h11", log_level="warning")
    else:
        from app.web.server import uvicorn_config

        config = uvicorn_config(app, settings, "127.0.0.1", port, log_level="warning")
    uvicorn.Server(config).run()


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for {pid}")


async def lifetime(port: int, first: bytes, drip: bytes | None) -> tuple[float, bytes]:
    """Send `first`, then `drip` each second (if any); how long until the server closes, and what it said."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(first)
    said = b""
    try:
        while time.monotonic() - started < CAP_SECONDS:
            try:
                chunk = await asyncio.wait_for(reader.read(4096), 1.0)
            except TimeoutError:
                if drip is not None:
                    writer.write(drip)
                continue
            if not chunk:
                break
            said += chunk
    except ConnectionError:
        pass
    finally:
        writer.close()
    return time.monotonic() - started, said.split(b"\r\n", 1)[0]


def signed(body: bytes) -> dict[str, str]:
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "issue_comment",
        "X-GitHub-Delivery": f"bench-{time.monotonic_ns()}",
        "X-Hub-Signature-256": signature,
    }


def request_head(body_length: int, headers: dict[str, str]) -> bytes:
    lines = ["POST /webhooks HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {body_length}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def large_body(size: int, n: int) -> bytes:
    payload: dict[str, Any] = json.loads(PAYLOAD.read_text())
    line = "a line of an oversized comment, repeated to fill it up " * 2 + "\n"
    text = line * (size // len(line))
    payload["comment"]["body"] = f"/steward help {n}\n" + text
    return json.dumps(payload).encode()


async def post(port: int, body: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request_head(len(body), signed(body)) + body)
    try:
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 60)
    except ConnectionError:
        status = b"(connection reset)"
    writer.close()
    return status.strip()


async def memory(port: int, pid: int, count: int, size: int) -> None:
    bodies = [large_body(size, n) for n in range(count)]
    before = rss_mib(pid)
    peak = before
    sending = asyncio.gather(*(post(port, body) for body in bodies))
    while not sending.done():
        peak = max(peak, rss_mib(pid))
        await asyncio.sleep(0.02)
    statuses = await sending
    await asyncio.sleep(1)
    after = rss_mib(pid)
    counted: dict[str, int] = {}
    for status in statuses:
        counted[status.decode()] = counted.get(status.decode(), 0) + 1
    print(f"{count} x {size // 2**20} MiB signed bodies at once: answers {counted}")
    print(
        f"  server RSS: before {before:.0f} MiB, peak {peak:.0f} MiB (VmHWM {rss_mib(pid, 'VmHWM'):.0f}), "
        f"after {after:.0f} MiB"
    )


async def measure(port: int, pid: int, args: argparse.Namespace) -> None:
    head = b"POST /webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    loris = await asyncio.gather(*(lifetime(port, head, b"X-a: b\r\n") for _ in range(5)))
    seconds = sorted(t for t, _ in loris)
    print(
        f"5 slowloris connections (a header line a second): open {seconds[0]:.1f}-{seconds[-1]:.1f} s "
        f"(watched up to {CAP_SECONDS:.0f} s), answered {loris[0][1]!r}"
    )
    body = b"x" * 1000
    stalled, said = await lifetime(port, request_head(len(body), signed(body)) + body[:10], None)
    print(f"a body stalled at 10 of 1,000 bytes: open {stalled:.1f} s, answered {said!r}")
    await memory(port, pid, args.count, args.mib * 2**20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--mib", type=int, default=24)
    parser.add_argument("--plain", action="store_true", help="serve with plain uvicorn h11 (the old way)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.plain)
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
        command = [sys.executable, __file__, "--serve", str(web_port), *(["--plain"] if args.plain else [])]
        server = subprocess.Popen(command, env=env)
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
            asyncio.run(measure(web_port, server.pid, args))
        finally:
            server.terminate()
            server.wait(10)
            redis_proc.terminate()
            redis_proc.wait(10)


if __name__ == "__main__":
    main()
