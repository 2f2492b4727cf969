"""The setup phase's network: an internal Docker network (no route out); its gateway hosts the proxy."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence

import anyio
import docker
from docker.errors import APIError, NotFound

from sandbox import hostguard
from sandbox.base import SandboxError
from sandbox.egress import EgressProxy

log = logging.getLogger(__name__)

EXPOSED = "host services listening on all interfaces answer the sandbox at its gateway"
REFUSAL = "the setup phase's host firewall could not be put in place ({why}), so the setup phase is refused"
ALLOW_HINT = (
    "run the worker as root with iptables, or set STEWARD_EGRESS_WITHOUT_FIREWALL=true to run it anyway "
    f"({EXPOSED})"
)


class SetupGateway:
    """One per run, so sandboxes never share a network; removed when the work phase starts."""

    def __init__(
        self,
        client: docker.DockerClient,
        run_id: str,
        allowlist: Sequence[str],
        labels: Mapping[str, str],
        *,
        without_firewall: bool = False,
    ) -> None:
        self._client = client
        self.name = f"steward-setup-{run_id}"
        self._allowlist = list(allowlist)
        self._labels = dict(labels)
        self._run_id = run_id
        self._network_id: str | None = None
        self.proxy: EgressProxy | None = None
        self._guard: tuple[str, str, int, str] | None = None
        self._without_firewall = without_firewall

    async def open(self) -> None:
        """Create the network and start the proxy on its gateway (the one address the sandbox reaches)."""

        def create() -> tuple[str, str]:
            network = self._client.networks.create(
                self.name, driver="bridge", internal=True, labels=self._labels, check_duplicate=True
            )
            network.reload()
            return str(network.id), str(network.attrs["IPAM"]["Config"][0]["Gateway"])

        network_id, gateway = await anyio.to_thread.run_sync(create)
        self._network_id = network_id
        self.proxy = EgressProxy(self._allowlist, host=gateway, run_id=self._run_id)
        try:
            await self.proxy.start()
        except OSError:
            await self.close()
            raise
        guard = (f"br-{network_id[:12]}", gateway, self.proxy.address[1], self._run_id)
        try:
            await anyio.to_thread.run_sync(hostguard.guard, *guard)
        except hostguard.FirewallUnavailable as exc:
            if not self._without_firewall:
                await self.close()
                raise SandboxError(f"{REFUSAL.format(why=exc)}; {ALLOW_HINT}") from None
            log.warning("run %s: setup phase without its firewall (%s); %s", self._run_id, exc, EXPOSED)
        else:
            self._guard = guard

    @property
    def proxy_env(self) -> dict[str, str]:
        """What tells pip, git and curl inside the sandbox to go through the proxy."""
        assert self.proxy is not None
        url = self.proxy.url
        return {"HTTP_PROXY": url, "HTTPS_PROXY": url, "http_proxy": url, "https_proxy": url}

    async def detach(self, container_id: str) -> None:
        """Leave the container with loopback only."""
        if self._network_id is None:
            return

        def disconnect() -> None:
            with contextlib.suppress(NotFound):
                self._client.api.disconnect_container_from_network(container_id, self._network_id, force=True)

        await anyio.to_thread.run_sync(disconnect)

    async def close(self) -> None:
        """Stop the proxy and remove the network (idempotent)."""
        if self._guard is not None:
            await anyio.to_thread.run_sync(hostguard.unguard, *self._guard)
            self._guard = None
        if self.proxy is not None:
            await self.proxy.close()
            self.proxy = None
        if self._network_id is not None:
            network_id, self._network_id = self._network_id, None

            def remove() -> None:
                with contextlib.suppress(NotFound, APIError):
                    self._client.api.remove_network(network_id)

            await anyio.to_thread.run_sync(remove)
