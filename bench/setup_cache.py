"""The setup phase's download cache: a first setup (cache cold) against a second one (warm) on one repository.

Real wheels (downloaded once from PyPI on the host into ~/.cache/steward-bench/wheels) are served by a PEP 503
index on 127.0.0.1; a real sandbox installs them through the real egress proxy, the only way out of its setup
network. The proxy's name lookup and connect are pointed at that index (as tests/test_egress.py's FakeNet does),
and refuse every other name or address: nothing leaves loopback. Each repetition is one cold setup (a fresh data
directory) then one warm setup (the same data directory, so the same per-repository cache).

Prints the median of N repetitions of each setup's wall time (the install step, then cutting the network), the
warm/cold ratio, and the bytes the proxy carried each way in each.

Run from the repository root: uv run python bench/setup_cache.py [--rounds 3] [--timeout 900]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path[0] = str(
    Path(__file__).resolve().parent.parent
)  # the project root, not bench/ (the project root first)

import anyio  # noqa: E402
import docker  # noqa: E402

from app.settings import Settings  # noqa: E402
from jobs.ledger import Ledger  # noqa: E402
from jobs.plan import SetupStep  # noqa: E402
from jobs.runs.setup import Phase, run_setup, sandbox_options  # noqa: E402
from sandbox import egress  # noqa: E402
from sandbox.docker_sandbox import DockerSandbox  # noqa: E402
from sandbox.git import give_to_sandbox  # noqa: E402
from sandbox.limits import Limits  # noqa: E402

WHEELS = (
    "rich==13.9.4",
    "markdown-it-py==3.0.0",
    "mdurl==0.1.2",
    "pygments==2.18.0",
    "docutils==0.21.2",
    "idna==3.10",
)
"""Small pure-Python wheels that the sandbox image does not already hold (rich needs the next three)."""
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "steward-bench" / "wheels"
INDEX_HOST = "pkgs.bench.test"
PUBLIC = "93.184.216.34"  # what the index's name stands for, so the proxy's address checks run as for real
REPO = "bench/setup-cache"
INSTALL = (
    f"pip install --index-url http://{INDEX_HOST}/simple/ --trusted-host {INDEX_HOST} -r requirements.txt"
)
LIMITS = Limits(memory="1g", cpus=1, pids=256, command_timeout=300)


def download() -> list[Path]:
    """The wheels, fetched from PyPI on the host the first time only."""
    CACHE.mkdir(parents=True, exist_ok=True)
    wanted = {spec: _name(spec.split("==")[0]) + "-" + spec.split("==")[1] + "-" for spec in WHEELS}
    missing = [spec for spec, prefix in wanted.items() if not _found(prefix)]
    if missing:
        print(f"downloading {len(missing)} wheel(s) from PyPI into {CACHE}", flush=True)
        subprocess.run(
            ["uv", "run", "--with", "pip", "python", "-m", "pip", "download", "-q", "--only-binary", ":all:",
             "--no-deps", "--python-version", "3.11", "-d", str(CACHE), *missing], check=True, timeout=300,
        )  # fmt: skip
    return [path for prefix in wanted.values() for path in _found(prefix)]


def _name(project: str) -> str:
    return project.lower().replace("-", "_").replace(".", "_")


def _found(prefix: str) -> list[Path]:
    return [
        p for p in CACHE.glob("*.whl") if p.name.lower().startswith(prefix) and p.name.endswith("-any.whl")
    ]


def _project_of(wheel: Path) -> str:
    """The normalized project name a wheel file belongs to (PEP 503)."""
    return wheel.name.split("-")[0].lower().replace("_", "-")


class _Index(BaseHTTPRequestHandler):
    """A PEP 503 simple index of the cached wheels; index pages always fresh, files cacheable (as PyPI's)."""

    wheels: dict[str, Path] = {}

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "simple":
            links = [
                f'<a href="/files/{w.name}#sha256={hashlib.sha256(w.read_bytes()).hexdigest()}">{w.name}</a>'
                for w in self.wheels.values()
                if _project_of(w) == parts[1]
            ]
            if links:
                return self._send("\n".join(links).encode(), "text/html", "max-age=0")
        elif len(parts) == 2 and parts[0] == "files" and parts[1] in self.wheels:
            data = self.wheels[parts[1]].read_bytes()
            return self._send(data, "application/octet-stream", "max-age=365000000, immutable, public")
        self._send(b"not here", "text/plain", "no-store", 404)

    def _send(self, body: bytes, kind: str, cache: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def index(wheels: list[Path]) -> Iterator[int]:
    _Index.wheels = {w.name: w for w in wheels}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def loopback_only(port: int) -> None:
    """The proxy resolves the index's name to a public-looking address and connects there to loopback; any
    other name or address is an error, so the bench reaches nothing beyond this machine."""

    async def resolve(host: str, _port: int) -> list[str]:
        if host != INDEX_HOST:
            raise OSError(f"the bench resolves {INDEX_HOST} only, not {host}")
        return [PUBLIC]

    async def connect(address: str, to: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if (address, to) != (PUBLIC, 80):
            raise OSError(f"the bench connects to its loopback index only, not {address}:{to}")
        return await asyncio.open_connection("127.0.0.1", port)

    egress.resolve_host = resolve
    egress.connect_to = connect


@dataclass(frozen=True)
class Setup:
    seconds: float
    sent: int
    received: int
    output: str


async def one_setup(
    client: docker.DockerClient, image: str, data: Path, work: Path, ledger: Ledger, without_firewall: bool
) -> Setup:
    workspace = work / f"ws-{uuid.uuid4().hex[:8]}"
    workspace.mkdir()
    (workspace / "requirements.txt").write_text("\n".join(WHEELS) + "\n")
    give_to_sandbox(workspace)
    run = await ledger.create_run(REPO, 1, "tests", actor="bench")
    step = SetupStep(command=INSTALL, reason="bench", hosts=[INDEX_HOST], cache_key="bench")
    options = sandbox_options(step, Phase(data, REPO, without_firewall))
    sandbox = DockerSandbox(
        workspace, LIMITS, run_id=f"bench-setup-{uuid.uuid4().hex[:8]}", image=image, client=client, **options
    )
    async with sandbox:
        started = time.perf_counter()
        result = await run_setup(sandbox, step, ledger, run.id)
        seconds = time.perf_counter() - started
        traffic = sandbox.proxy_traffic
    return Setup(seconds, traffic.sent, traffic.received, result.output)


def _size(count: float) -> str:
    for unit, scale in (("MiB", 1024**2), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count:.0f} B"


async def bench(rounds: int, image: str, without_firewall: bool, work: Path, port: int) -> None:
    loopback_only(port)
    client = await anyio.to_thread.run_sync(lambda: docker.from_env(timeout=60))
    ledger = await Ledger.connect(f"sqlite+aiosqlite:///{work / 'ledger.db'}")
    cold: list[Setup] = []
    warm: list[Setup] = []
    try:
        for n in range(rounds):
            data = work / f"data-{n}"  # a fresh data directory: an empty cache
            cold.append(await one_setup(client, image, data, work, ledger, without_firewall))
            warm.append(await one_setup(client, image, data, work, ledger, without_firewall))
            print(
                f"  round {n + 1}: cold {cold[-1].seconds:.2f}s ({_size(cold[-1].received)} in), "
                f"warm {warm[-1].seconds:.2f}s ({_size(warm[-1].received)} in)",
                flush=True,
            )
    finally:
        await ledger.close()
        client.close()
    fetched = sum("Downloading" in s.output for s in warm)
    print(f"\nsetup phase, {len(WHEELS)} wheels, median of {rounds}:")
    for label, runs in (("cold (empty cache)", cold), ("warm (same cache)", warm)):
        seconds = statistics.median(s.seconds for s in runs)
        received = statistics.median(s.received for s in runs)
        sent = statistics.median(s.sent for s in runs)
        print(f"  {label:<20} {seconds:7.2f}s   proxy: {_size(received)} in, {_size(sent)} out")
    ratio = statistics.median(s.seconds for s in warm) / statistics.median(s.seconds for s in cold)
    print(f"  warm / cold wall time: {ratio:.2f}")
    print(f"  warm setups that downloaded a wheel again: {fetched} of {rounds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="cold/warm pairs to run (default 3)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds the whole bench may take")
    args = parser.parse_args()
    settings = Settings()
    wheels = download()
    total = sum(w.stat().st_size for w in wheels)
    print(f"{len(wheels)} wheels, {_size(total)}: {', '.join(w.name for w in wheels)}")
    with tempfile.TemporaryDirectory(prefix="steward-bench-setup-") as tmp, index(wheels) as port:

        async def bounded() -> None:
            with anyio.fail_after(args.timeout):
                await bench(
                    args.rounds, settings.sandbox_image, settings.egress_without_firewall, Path(tmp), port
                )

        anyio.run(bounded)


if __name__ == "__main__":
    main()
