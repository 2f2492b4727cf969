"""The setup phase reaches allowlisted hosts through Steward's proxy only; the work phase reaches nothing."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docker
import pytest

from sandbox.docker_sandbox import DockerSandbox
from sandbox.egress import EgressProxy, host_allowed
from sandbox.limits import Limits
from tests.sandbox_fixtures import docker_client, sandbox_dir, sandbox_image  # noqa: F401

pytestmark = pytest.mark.anyio


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello from {self.server.server_address[1]}".encode()  # type: ignore[index]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def two_servers() -> Iterator[tuple[int, int]]:
    """Two local HTTP servers: the first will be allowlisted, the second not."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Hello) for _ in range(2)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    yield servers[0].server_address[1], servers[1].server_address[1]
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("host", "port", "allowlist", "expected"),
    [
        ("pypi.org", 443, ["pypi.org"], True),
        ("PyPI.org.", 443, ["pypi.org"], True),
        ("evilpypi.org", 443, ["pypi.org"], False),
        ("pypi.org.evil.com", 443, ["pypi.org"], False),
        ("files.pythonhosted.org", 443, ["*.pythonhosted.org"], True),
        ("pythonhosted.org.evil", 443, ["*.pythonhosted.org"], False),
        ("127.0.0.1", 8080, ["127.0.0.1:8080"], True),
        ("127.0.0.1", 8081, ["127.0.0.1:8080"], False),
        ("anything", 80, [], False),
    ],
)
def test_allowlist_matching(host: str, port: int, allowlist: list[str], expected: bool) -> None:
    assert host_allowed(host, port, allowlist) is expected


async def _ask(proxy: EgressProxy, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(*proxy.address)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    await writer.wait_closed()
    return data


async def test_proxy_forwards_allowlisted_and_refuses_and_logs_the_rest(
    two_servers: tuple[int, int], caplog: pytest.LogCaptureFixture
) -> None:
    allowed, denied = two_servers
    async with EgressProxy([f"127.0.0.1:{allowed}"], run_id="r1") as proxy:
        ok = await _ask(proxy, f"GET http://127.0.0.1:{allowed}/x HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        with caplog.at_level(logging.WARNING, logger="sandbox.egress"):
            refused = await _ask(
                proxy, f"GET http://127.0.0.1:{denied}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode()
            )
            tunnel_refused = await _ask(proxy, f"CONNECT 127.0.0.1:{denied} HTTP/1.1\r\n\r\n".encode())
        tunnel = (
            f"CONNECT 127.0.0.1:{allowed} HTTP/1.1\r\n\r\n" + "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"
        )
        through = await _ask(proxy, tunnel.encode())
    assert ok.startswith(b"HTTP/1.0 200") and ok.endswith(f"hello from {allowed}".encode())
    assert refused.startswith(b"HTTP/1.1 403") and tunnel_refused.startswith(b"HTTP/1.1 403")
    assert b"200 Connection established" in through and through.endswith(f"hello from {allowed}".encode())
    assert proxy.refused == [f"127.0.0.1:{denied}", f"127.0.0.1:{denied}"]
    assert caplog.text.count(f"egress refused: run r1 asked for 127.0.0.1:{denied}") == 2


async def test_proxy_answers_garbage_without_crashing() -> None:
    async with EgressProxy(["allowed.invalid"]) as proxy:
        assert (await _ask(proxy, b"NONSENSE\r\n\r\n")).startswith(b"HTTP/1.1 400")
        assert (await _ask(proxy, b"GET /relative HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 400")
        assert (await _ask(proxy, b"GET http://other.invalid/ HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 403")
        assert (await _ask(proxy, b"CONNECT allowed.invalid:443 HTTP/1.1\r\n\r\n")).startswith(
            b"HTTP/1.1 502"
        )


FETCH = """
import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())
except Exception as exc:
    print("FAILED", type(exc).__name__, exc)
"""
DIRECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
    print("CONNECTED")
except OSError as exc:
    print("FAILED", exc)
"""


@pytest.mark.docker
async def test_setup_phase_admits_the_allowlist_only_and_work_phase_reaches_nothing(
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
    two_servers: tuple[int, int],
    tmp_path: Path,
) -> None:
    allowed, denied = two_servers
    sandbox = DockerSandbox(
        sandbox_dir(tmp_path / "ws"),
        Limits(command_timeout=30),
        run_id=f"test-egress-{uuid.uuid4().hex[:8]}",
        image=sandbox_image,
        network="setup",
        allowlist=[f"127.0.0.1:{allowed}"],
        client=docker_client,
    )
    async with sandbox:
        assert sandbox._gateway is not None and sandbox._gateway.proxy is not None
        gateway, proxy_port = sandbox._gateway.proxy.address
        # A host service on the bridge address, not the proxy: the sandbox must not reach it directly.
        side = ThreadingHTTPServer((gateway, 0), _Hello)
        threading.Thread(target=side.serve_forever, daemon=True).start()
        try:
            admitted = await sandbox.run(["python3", "-c", FETCH, f"http://127.0.0.1:{allowed}/"])
            refused = await sandbox.run(["python3", "-c", FETCH, f"http://127.0.0.1:{denied}/"])
            direct_host = await sandbox.run(["python3", "-c", DIRECT, gateway, str(side.server_address[1])])
            direct_out = await sandbox.run(["python3", "-c", DIRECT, "192.0.2.1", "80"])
            guarded = subprocess.run(["iptables", "-S", "INPUT"], capture_output=True, text=True, check=False)
            await sandbox.enter_work_phase()
            interfaces = await sandbox.run(["cat", "/proc/net/dev"])
            after_proxy = await sandbox.run(["python3", "-c", FETCH, f"http://127.0.0.1:{allowed}/"])
            after_host = await sandbox.run(["python3", "-c", DIRECT, gateway, str(proxy_port)])
            after_env = await sandbox.run(["env"])
        finally:
            side.shutdown()
            side.server_close()
    assert admitted.output.strip() == f"hello from {allowed}"
    assert refused.output.startswith("FAILED HTTPError HTTP Error 403")
    assert sandbox.proxy_refusals == [f"127.0.0.1:{denied}"]
    assert direct_host.output.startswith("FAILED"), direct_host.output
    assert direct_out.output.startswith("FAILED"), direct_out.output
    names = [line.split(":")[0].strip() for line in interfaces.output.splitlines()[2:]]
    assert names == ["lo"]
    assert after_proxy.output.startswith("FAILED URLError"), after_proxy.output
    assert after_host.output.startswith("FAILED"), after_host.output
    assert "PROXY" not in after_env.output.upper()
    rules = subprocess.run(["iptables", "-S", "INPUT"], capture_output=True, text=True, check=False).stdout
    assert guarded.stdout.count(f"steward:{sandbox.run_id}") == 2  # DROP all from the bridge, but the proxy
    assert f"steward:{sandbox.run_id}" not in rules  # the firewall rules went with the network
    assert docker_client.networks.list(names=[f"steward-setup-{sandbox.run_id}"]) == []
