"""One host git process: safe options, a clean environment, and a time limit that kills it on expiry."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import subprocess
from pathlib import Path

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream

from sandbox.base import SandboxError

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
# Never run hooks, fsmonitor or a pager from a work tree the sandbox has written to.
SAFE_OPTIONS = (
    "-c", "safe.directory=*", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
    "-c", "commit.gpgsign=false", "-c", "core.pager=cat", "-c", "protocol.ext.allow=never",
)  # fmt: skip
LOCAL_TIMEOUT = 120.0
"""Wall seconds for a git command that only reads and writes the workspace (add, diff, commit)."""
NETWORK_TIMEOUT = 900.0
"""Wall seconds for a git command that talks to the remote (fetch, push)."""
NETWORK_COMMANDS = frozenset({"fetch", "push", "clone"})
MAX_STDERR = 2000


class GitError(SandboxError):
    """A git command failed or ran out of time; the message never holds the token."""


def git_env(home: Path, token: str | None) -> dict[str, str]:
    """No host environment; the token travels as an http.extraHeader set through the environment."""
    env = {
        "PATH": os.environ.get("PATH", DEFAULT_PATH),
        "HOME": str(home),
        "LANG": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
    }
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }
    return env


def timeout_for(command: str) -> float:
    """The named limit a git subcommand runs under."""
    return NETWORK_TIMEOUT if command in NETWORK_COMMANDS else LOCAL_TIMEOUT


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # git forks helpers (remote-https): kill them all
        os.killpg(pid, signal.SIGKILL)


async def _drain(stream: ByteReceiveStream | None, into: list[bytes]) -> None:
    if stream is not None:
        async for chunk in stream:
            into.append(chunk)


async def _feed(stream: ByteSendStream | None, data: bytes) -> None:
    if stream is not None:
        async with stream:
            await stream.send(data)


async def run_git(
    argv: list[str],
    env: dict[str, str],
    *,
    command: str,
    limit: float,
    token: str | None = None,
    input: bytes | None = None,
) -> bytes:
    """Run one git command to completion within `limit` seconds; its stdout, or GitError saying why."""
    _, out = await run_git_status(argv, env, command=command, limit=limit, token=token, input=input)
    return out


async def run_git_status(
    argv: list[str],
    env: dict[str, str],
    *,
    command: str,
    limit: float,
    token: str | None = None,
    input: bytes | None = None,
    answers: frozenset[int] = frozenset({0}),
) -> tuple[int, bytes]:
    """run_git for a command whose exit status is an answer (`merge-base --is-ancestor`, `merge-tree`):
    any status in `answers` comes back with stdout; any other is a GitError."""
    out: list[bytes] = []
    err: list[bytes] = []
    stdin = subprocess.DEVNULL if input is None else subprocess.PIPE
    process = await anyio.open_process(argv, stdin=stdin, env=env, start_new_session=True)
    try:
        with anyio.move_on_after(limit) as scope:
            async with anyio.create_task_group() as tg:
                if input is not None:
                    tg.start_soon(_feed, process.stdin, input)
                tg.start_soon(_drain, process.stdout, out)
                tg.start_soon(_drain, process.stderr, err)
            await process.wait()
    finally:
        if process.returncode is None:
            _kill_group(process.pid)
        with anyio.CancelScope(shield=True):
            await process.aclose()
    if scope.cancelled_caught:
        raise GitError(f"git {command} ran out of time: it was killed after {limit:g} s")
    if process.returncode not in answers:
        text = b"".join(err).decode(errors="replace").strip()
        if token:
            text = text.replace(token, "***")
        raise GitError(f"git {command} failed ({process.returncode}): {text[-MAX_STDERR:]}")
    return process.returncode, b"".join(out)
