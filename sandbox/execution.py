"""One command inside a running container: stream its output, cut it at the cap, stop it at the deadline."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import docker
from docker.errors import APIError

OnOutput = Callable[[bytes], None]
SANDBOX_USER = "1000:1000"
WORKDIR = "/workspace"
_INSPECT_TRIES = 50


@dataclass
class _Collector:
    """Keeps output up to the cap (runs in a worker thread; blocking reads)."""

    cap: int
    on_output: OnOutput | None
    chunks: list[bytes] = field(default_factory=list)
    kept: int = 0
    cut: bool = False
    finished: bool = False

    def consume(self, stream: Any) -> None:
        """Read until EOF or the cap; always close the stream (it holds a socket to the daemon)."""
        try:
            for chunk in stream:
                room = self.cap - self.kept
                part = chunk[:room]
                if part:
                    self.chunks.append(part)
                    self.kept += len(part)
                    if self.on_output is not None:
                        self.on_output(part)
                if len(chunk) > room:
                    self.cut = True
                    return
            self.finished = True
        finally:
            stream.close()
            stream._response.close()  # docker-py's close() leaves the HTTP response's file object open

    def text(self) -> str:
        return b"".join(self.chunks).decode("utf-8", errors="replace")


@dataclass(frozen=True)
class RawOutcome:
    """What happened, before anyone decides which limit to blame."""

    exit_code: int | None
    output: str
    duration: float
    timed_out: bool
    cut: bool
    start_error: str | None = None


async def run_exec(
    client: docker.DockerClient,
    container_id: str,
    cmd: list[str],
    *,
    env: Mapping[str, str],
    timeout: float,  # noqa: ASYNC109 (a limit we enforce, not a cancellation)
    cap: int,
    on_output: OnOutput | None = None,
) -> RawOutcome:
    """Run `cmd` as the sandbox user until it exits, is cut, or times out (then it is left running)."""
    api = client.api
    started = time.monotonic()
    try:
        exec_id = await anyio.to_thread.run_sync(
            lambda: api.exec_create(
                container_id,
                cmd,
                stdout=True,
                stderr=True,
                user=SANDBOX_USER,
                workdir=WORKDIR,
                environment=[f"{k}={v}" for k, v in env.items()],
            )["Id"]
        )
        stream = await anyio.to_thread.run_sync(lambda: api.exec_start(exec_id, stream=True, demux=False))
        # docker-py keeps the client's read timeout on exec streams; a quiet command must not trip it.
        api._disable_socket_timeout(api._get_raw_response_socket(stream._response))
    except APIError as exc:
        # e.g. the process limit is exhausted and runc cannot even start the command
        elapsed = time.monotonic() - started
        return RawOutcome(None, "", elapsed, False, False, start_error=str(exc.explanation))
    collector = _Collector(cap=cap, on_output=on_output)
    with anyio.move_on_after(timeout) as scope:
        await anyio.to_thread.run_sync(collector.consume, stream, abandon_on_cancel=True)
    duration = time.monotonic() - started
    exit_code: int | None = None
    if collector.finished:
        for _ in range(_INSPECT_TRIES):  # the stream can close a moment before the daemon records the exit
            info = await anyio.to_thread.run_sync(api.exec_inspect, exec_id)
            if not info.get("Running"):
                exit_code = info.get("ExitCode")
                break
            await anyio.sleep(0.02)
    return RawOutcome(exit_code, collector.text(), duration, scope.cancelled_caught, collector.cut)
