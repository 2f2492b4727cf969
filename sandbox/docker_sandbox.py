"""The Docker backend of `Sandbox`: one locked-down container per run, commands run in it one at a time."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Self

import anyio
import docker
import requests
from docker.errors import DockerException

from app.observability import tracing
from app.observability.metrics import SANDBOX_COMMANDS, SANDBOX_KILLS
from sandbox import archive, cgroup, container, diskwatch, hostfs, quiesce, quota, transfer
from sandbox.base import CommandResult, Network, SandboxError, SandboxLost
from sandbox.egress import Traffic
from sandbox.execution import OnOutput, RawOutcome, run_exec
from sandbox.explain import explain
from sandbox.image import SANDBOX_HOME, ensure_image
from sandbox.judge import judge, out_of_disk
from sandbox.labels import run_labels
from sandbox.limits import Limits
from sandbox.network import SetupGateway

BASE_ENV = {
    "HOME": SANDBOX_HOME,
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
}
"""The whole environment of a command: nothing is inherited from the host."""
log = logging.getLogger(__name__)
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
PROGRAM_CHARS = 64
"""Of a command's program (argv[0]), kept on its trace span; its arguments and output are not."""
STOPPED_OUTSIDE = (
    "the sandbox's container stopped between two commands (the Docker daemon restarted, or it was stopped "
    "from outside): {why}"
)
"""Every command leaves the container running (quiesce.quiet), so a stopped one is not the command's doing:
a daemon restart stops every container, and the next command would otherwise read as a failed one."""


class DockerSandbox:
    """`async with DockerSandbox(workspace, limits, run_id=..., image=...) as sb: await sb.run([...])`."""

    def __init__(
        self,
        workspace: Path,
        limits: Limits,
        *,
        run_id: str,
        image: str,
        network: Network = "none",
        allowlist: Sequence[str] = (),
        worker_id: str | None = None,
        env: Mapping[str, str] | None = None,
        client: docker.DockerClient | None = None,
        ca_bundle: Path | None = None,
        egress_without_firewall: bool = False,
        cache: tuple[Path, str] | None = None,
        transfer_mode: transfer.Transfer | None = None,
    ) -> None:
        if not _RUN_ID.match(run_id):
            raise SandboxError(f"run id {run_id!r} must be letters, digits, '.', '_' or '-'")
        self.workspace = workspace.resolve()
        self.limits = limits
        self.run_id = run_id
        self.image = image
        self.network = network
        self._allowlist = list(allowlist)
        self._without_firewall = egress_without_firewall
        setting = transfer_mode or os.environ.get("STEWARD_SANDBOX_TRANSFER", "auto")
        if setting not in ("auto", "bind", "archive"):
            raise SandboxError(f"sandbox transfer {setting!r} must be auto, bind or archive")
        self.transfer = transfer.choose(setting)  # type: ignore[arg-type]
        """bind: the workspace is bind-mounted; archive: it moves through the Docker API (a remote daemon)."""
        self._volume = transfer.volume_name(run_id) if self.transfer == "archive" else None
        if self._volume is not None and network == "setup":
            raise SandboxError(
                "a setup phase needs the egress proxy and firewall on the Docker host: not possible with "
                "sandbox.transfer archive (a remote daemon); run the setup with a local daemon"
            )
        if self._volume is not None and cache is not None:
            log.info("the download cache is a host directory: a remote Docker host runs without it")
            cache = None
        self._cache = cache
        """A host directory (which the host never reads) and where the sandbox sees it: a download cache."""
        self._labels = run_labels(run_id, worker_id)
        self._env = {**BASE_ENV, **(env or {})}
        self._ca_bundle = ca_bundle.resolve() if ca_bundle is not None else None
        if self._ca_bundle is not None and self._volume is not None:
            raise SandboxError(
                "a CA bundle is mounted from the host: not possible with sandbox.transfer archive"
            )
        if self._ca_bundle is not None:
            if not self._ca_bundle.is_file():
                raise SandboxError(f"CA bundle {ca_bundle} is not a file")
            self._env |= {
                "PIP_CERT": container.CA_BUNDLE_PATH,
                "REQUESTS_CA_BUNDLE": container.CA_BUNDLE_PATH,
            }
        self._client = client
        self._own_client = client is None
        self._container_id: str | None = None
        self._gateway: SetupGateway | None = None
        self._refused: list[str] = []
        self._reached: list[str] = []
        self._traffic = Traffic()
        self._deadline = 0.0
        self._quota = False  # the work tree is a size-limited filesystem of its own (see sandbox/quota.py)
        self._one_at_a_time = anyio.Lock()  # a kill resets the whole container, so commands never overlap
        self._struck = False  # the disk watchdog stopped this command (it restarts the container)

    @property
    def container_id(self) -> str | None:
        return self._container_id

    @property
    def proxy_refusals(self) -> list[str]:
        """Hosts the setup phase asked for and was refused (kept after the network is gone)."""
        live = self._gateway.proxy.refused if self._gateway and self._gateway.proxy else []
        return [*self._refused, *live]

    @property
    def proxy_reached(self) -> list[str]:
        """Hosts the setup phase reached through the proxy, one entry per connection."""
        live = self._gateway.proxy.reached if self._gateway and self._gateway.proxy else []
        return [*self._reached, *live]

    @property
    def proxy_traffic(self) -> Traffic:
        """Bytes the setup phase's proxy carried each way (kept after the network is gone)."""
        total = Traffic(self._traffic.sent, self._traffic.received)
        if self._gateway is not None and self._gateway.proxy is not None:
            total.add(self._gateway.proxy.traffic)
        return total

    async def _close_gateway(self) -> None:
        if self._gateway is not None:
            gateway, self._gateway = self._gateway, None
            if gateway.proxy is not None:
                self._refused.extend(gateway.proxy.refused)
                self._reached.extend(gateway.proxy.reached)
                self._traffic.add(gateway.proxy.traffic)
            await gateway.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with anyio.CancelScope(shield=True):
            await self.destroy()

    async def start(self) -> None:
        if self._container_id is not None:
            return
        if not self.workspace.is_dir():
            raise SandboxError(f"workspace {self.workspace} is not a directory")
        try:
            if self._client is None:
                self._client = await anyio.to_thread.run_sync(lambda: docker.from_env(timeout=60))
            client = self._client
            await anyio.to_thread.run_sync(ensure_image, client, self.image)
            if self.network == "setup":
                self._gateway = SetupGateway(
                    client,
                    self.run_id,
                    self._allowlist,
                    self._labels,
                    without_firewall=self._without_firewall,
                )
                await self._gateway.open()
            self._container_id = await anyio.to_thread.run_sync(
                lambda: container.create_and_start(
                    client,
                    image=self.image,
                    name=f"steward-{self.run_id}",
                    labels=self._labels,
                    limits=self.limits,
                    workspace=self.workspace,
                    network_mode="none" if self._gateway is None else self._gateway.name,
                    ca_bundle=self._ca_bundle,
                    cache=self._cache,
                    volume=self._volume,
                )
            )
        except (DockerException, requests.exceptions.RequestException) as exc:
            await self.destroy()
            if container.daemon_gone(exc):
                raise SandboxLost(f"the Docker daemon is unreachable: {exc}") from None
            raise SandboxError(f"could not start the sandbox: {exc}") from None
        except BaseException:
            await self.destroy()
            raise
        self._deadline = time.monotonic() + self.limits.run_timeout
        self._quota = self._volume is None and quota.mounted(self.workspace)

    async def run(
        self,
        cmd: list[str] | str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (a limit we enforce, not a cancellation)
        output_bytes: int | None = None,
        on_output: OnOutput | None = None,
    ) -> CommandResult:
        """Run a command (a string goes through `sh -c`) and say which limit stopped it, if any."""
        if self._container_id is None or self._client is None:
            raise SandboxError("the sandbox is not started (use `async with`)")
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            text = explain("time", self.limits, timeout=0, run_budget=True)
            SANDBOX_KILLS.labels("time").inc()
            return CommandResult(137, "", 0.0, "time", text)
        wanted = min(timeout or self.limits.command_timeout, self.limits.command_timeout)
        attributes = {"steward.run.id": self.run_id, "steward.command.program": argv[0][:PROGRAM_CHARS]}
        with tracing.span("sandbox command", attributes) as span:
            try:
                async with self._one_at_a_time:
                    result = await self._within_disk(
                        argv, wanted, min(wanted, remaining), output_bytes, on_output
                    )
            except (DockerException, requests.exceptions.RequestException) as exc:
                if container.daemon_gone(exc):
                    raise SandboxLost(
                        f"the Docker daemon restarted or went away under the sandbox: {exc}"
                    ) from None
                if not await self._still_up():  # e.g. the archive's copy in found it stopped
                    raise SandboxLost(STOPPED_OUTSIDE.format(why=exc)) from None
                raise SandboxError(f"the sandbox stopped working: {exc}") from None
            tracing.set_attributes(
                span, {"steward.command.exit_code": result.exit_code, "steward.command.killed_by":
                       result.killed_by or ""},
            )  # fmt: skip
        SANDBOX_COMMANDS.observe(result.duration)
        if result.killed_by is not None:
            SANDBOX_KILLS.labels(result.killed_by).inc()
        return result

    async def _still_up(self) -> bool:
        """Whether the container still runs (True when the daemon cannot say: the error stands as it is)."""
        client, cid = self._client, self._container_id
        if client is None or cid is None:
            return True
        try:
            return await anyio.to_thread.run_sync(container.running, client, cid)
        except (DockerException, requests.exceptions.RequestException):
            return True

    async def _within_disk(
        self,
        argv: list[str],
        wanted: float,
        budget: float,
        output_bytes: int | None,
        on_output: OnOutput | None,
    ) -> CommandResult:
        """`_run` under `limits.disk`: the quota mount refuses writes past it; else a watchdog kills."""
        client, cid = self._client, self._container_id
        assert client is not None and cid is not None

        def body() -> Awaitable[CommandResult]:
            return self._run(argv, wanted, budget, output_bytes, on_output)

        async def stop() -> None:
            self._struck = True  # the restart is ours: a command it keeps from starting was not lost
            try:
                await anyio.to_thread.run_sync(container.reset, client, cid)
            except (DockerException, requests.exceptions.RequestException) as exc:  # the next command says so
                log.warning("could not stop a command at the disk budget: %s", exc)

        stopped = self._struck = False
        if self._volume is not None:
            return await self._through_archive(body, stop, budget)
        if self._quota:
            result = await body()
        else:
            result, stopped = await diskwatch.guard(self.workspace, self.limits.disk, body, stop)
        if stopped or out_of_disk(result, quota_full=self._quota and quota.full(self.workspace)):
            text = explain("disk", self.limits, timeout=budget)
            return replace(result, killed_by="disk", explanation=text)
        return result

    async def _through_archive(
        self,
        body: Callable[[], Awaitable[CommandResult]],
        stop: Callable[[], Awaitable[None]],
        budget: float,
    ) -> CommandResult:
        """The host's copy in before the command, the container's copy back after it (sandbox/transfer.py).

        The disk limit holds twice: while the command runs, the watchdog measures the volume on the daemon
        and stops the command past it (as it does a local work tree); after it, a workspace over it is not
        unpacked. Either way the command is said to have been stopped at the disk budget.
        """
        client, cid = self._client, self._container_id
        assert client is not None and cid is not None
        await anyio.to_thread.run_sync(transfer.push, client, cid, self.workspace)
        disk = self.limits.disk
        result, stopped = await diskwatch.guard_measured(
            lambda: transfer.usage(client, cid, disk), disk, body, stop
        )
        over = replace(result, killed_by="disk", explanation=explain("disk", self.limits, timeout=budget))
        try:
            done = await anyio.to_thread.run_sync(transfer.pull, client, cid, self.workspace, disk)
        except archive.TooLarge:
            return over
        if stopped:
            return over
        if done.skipped:
            log.info("left %d devices or FIFOs in the sandbox: %s", len(done.skipped), done.skipped[:5])
        return result

    async def _run(
        self,
        argv: list[str],
        wanted: float,
        budget: float,
        output_bytes: int | None,
        on_output: OnOutput | None,
    ) -> CommandResult:
        assert self._container_id is not None and self._client is not None
        env = {**self._env, **(self._gateway.proxy_env if self._gateway and self._gateway.proxy else {})}
        client, cid = self._client, self._container_id
        before = await anyio.to_thread.run_sync(container.read_counters, client, cid)
        raw: RawOutcome | None = None
        lost = False
        try:
            raw = await run_exec(
                client,
                cid,
                argv,
                env=env,
                timeout=budget,
                cap=output_bytes or self.limits.output_bytes,
                on_output=on_output,
            )
            if raw.start_error and not self._struck and not await self._still_up():
                lost = True
                raise SandboxLost(STOPPED_OUTSIDE.format(why=raw.start_error))
            after = await anyio.to_thread.run_sync(container.read_counters, client, cid)
            cpu = cgroup.cpu_used(before, after)  # the run's cost, recorded per step
        finally:
            # The caller reads and writes the workspace next: nothing the command started may still run.
            # A command that was stopped still runs, so the container restarts (kills its pid namespace).
            reset = raw is None or raw.timed_out or raw.cut or bool(raw.start_error)
            if not lost:  # a container stopped from outside ran nothing: this try is over, not restarted
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(lambda: quiesce.quiet(client, cid, reset_first=reset))
        verdict = judge(raw, before, after)
        if verdict is None:
            code = raw.exit_code if raw.exit_code is not None else 1
            return CommandResult(code, raw.output + (raw.start_error or ""), raw.duration, cpu_seconds=cpu)
        limits = self.limits.model_copy(update={"output_bytes": output_bytes or self.limits.output_bytes})
        text = explain(verdict, limits, timeout=budget, run_budget=verdict == "time" and budget < wanted)
        code = raw.exit_code if raw.exit_code is not None else 137
        return CommandResult(code, raw.output, raw.duration, verdict, text, cpu)

    async def enter_work_phase(self) -> None:
        """From here on the sandbox has loopback only."""
        if self._gateway is None:
            return
        if self._container_id is not None:
            await self._gateway.detach(self._container_id)
        await self._close_gateway()

    async def read_file(self, relative: str, max_bytes: int = hostfs.DEFAULT_MAX_BYTES) -> bytes:
        """Read through the bind mount without following a link (hostfs.UnsafePath, a SandboxError)."""
        try:
            return await anyio.to_thread.run_sync(hostfs.read_bytes, self.workspace, relative, max_bytes)
        except FileNotFoundError:
            raise SandboxError(f"{relative}: no such file in the workspace") from None

    async def destroy(self) -> None:
        """Remove the container and the setup network; safe to call twice and after any failure."""
        client, cid = self._client, self._container_id
        self._container_id = None
        if client is not None and (cid is not None or self._volume is not None):
            # container.remove logs a daemon out of reach; the reaper removes what is left by its labels
            await anyio.to_thread.run_sync(container.remove, client, cid, self._volume)
        await self._close_gateway()
        if client is not None and self._own_client:
            await anyio.to_thread.run_sync(client.close)
            self._client = None
