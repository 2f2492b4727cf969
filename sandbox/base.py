"""The one interface workflows see: a sandbox over a workspace that runs commands under limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol, Self

KillReason = Literal["memory", "processes", "time", "output", "disk"]
Network = Literal["none", "setup"]


class SandboxError(Exception):
    """The sandbox could not be made or used; the message is fit to show a maintainer."""


class SandboxLost(SandboxError):
    """The Docker daemon went away under the sandbox (restarted, crashed, unreachable): a new try may pass."""


class ImageMissingError(SandboxError):
    """The image is not on the Docker host (it is built, never pulled)."""


@dataclass(frozen=True)
class CommandResult:
    """What one command did: its exit, its (possibly cut) output, and which limit stopped it, if any."""

    exit_code: int
    output: str
    duration: float
    killed_by: KillReason | None = None
    explanation: str = ""
    cpu_seconds: float | None = None
    """CPU time the container's processes used meanwhile, from its cgroup (None: not measured)."""

    @property
    def ok(self) -> bool:
        """Exited 0 and was not stopped by a limit."""
        return self.exit_code == 0 and self.killed_by is None


class Sandbox(Protocol):
    """A workbench over one workspace; `async with` guarantees it is destroyed."""

    workspace: Path

    async def start(self) -> None:
        """Create the isolated environment (idempotent)."""

    async def run(
        self,
        cmd: list[str] | str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (a limit we enforce, not a cancellation)
        output_bytes: int | None = None,
        on_output: Callable[[bytes], None] | None = None,
    ) -> CommandResult:
        """Run one command in the workspace (a string goes through `sh -c`) under the sandbox limits."""

    async def enter_work_phase(self) -> None:
        """Cut the network for good (after setup); a no-op when there was none."""

    async def read_file(self, relative: str) -> bytes:
        """A file of the workspace as the sandbox left it, never read through a link."""

    async def destroy(self) -> None:
        """Remove everything the sandbox made, whatever state it is in (idempotent)."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
