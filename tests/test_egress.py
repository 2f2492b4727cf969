"""The setup phase reaches allowlisted hosts through Steward's proxy only; the work phase reaches nothing."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import subprocess
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docker
import pytest

from app.settings import Settings
from sandbox import addresses, egress
from sandbox.base import SandboxError
from sandbox.docker_sandbox import DockerSandbox
from sandbox.egress import EgressProxy, connect_to, host_allowed, resolve_host
from sandbox.labels import RUN_LABEL
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
        ("2606:4700::1", 443, ["2606:4700::1"], True),
        ("2606:4700::1", 443, ["[2606:4700::1]:443"], True),
        ("2606:4700::1", 80, ["[2606:4700::1]:443"], False),
        ("2606", 443, ["2606:4700::1"], False),
        ("anything", 80, [], False),
    ],
)
def test_allowlist_matching(host: str, port: int, allowlist: list[str], expected: bool) -> None:
    assert host_allowed(host, port, allowlist) is expected


PUBLIC = "93.184.216.34"  # what a real name would resolve to; the tests never connect there


@pytest.mark.parametrize(
    ("address", "own", "words"),
    [
        ("127.0.0.1", [], "127.0.0.1 is a loopback address"),
        ("127.9.9.9", [], "a loopback address"),
        ("::1", [], "::1 is a loopback address"),
        ("::ffff:127.0.0.1", [], "carries 127.0.0.1, which is a loopback address"),
        ("::127.0.0.1", [], "carries 127.0.0.1, which is a loopback address"),
        ("2002:7f00:1::", [], "carries 127.0.0.1, which is a loopback address"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", [], "carries 127.0.0.1, which is a loopback address"),
        ("0.0.0.0", [], "an unspecified address"),
        ("::", [], "an unspecified address"),
        ("169.254.169.254", [], "a link-local address"),
        ("fe80::1", [], "a link-local address"),
        ("fe80::1%eth0", [], "a link-local address"),
        ("10.1.2.3", [], "a private address"),
        ("172.17.0.1", [], "a private address"),
        ("192.168.1.1", [], "a private address"),
        ("fd00::2", [], "a private address"),
        ("::ffff:10.0.0.1", [], "carries 10.0.0.1, which is a private address"),
        ("224.0.0.251", [], "a multicast address"),
        ("ff02::1", [], "a multicast address"),
        ("240.0.0.1", [], "address"),
        ("100.64.0.1", [], "not a public address"),
        (PUBLIC, [ipaddress.ip_address(PUBLIC)], "one of this host's own addresses"),
        (f"::ffff:{PUBLIC}", [ipaddress.ip_address(PUBLIC)], "one of this host's own addresses"),
        (PUBLIC, [], None),
        ("2606:2800:220:1:248:1893:25c8:1946", [], None),
    ],
)
def test_address_refusals(address: str, own: list[addresses.IPAddress], words: str | None) -> None:
    parsed = addresses.parse(address)
    assert parsed is not None
    reason = addresses.refusal(parsed, own)
    assert reason is None if words is None else (reason is not None and words in reason), reason


def test_the_hosts_own_addresses_are_every_interface_address() -> None:
    own = addresses.host_addresses()
    listed = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, check=True).stdout
    for line in listed.splitlines():
        text = line.split()[3].partition("/")[0]
        assert addresses.parse(text) in own, text


class FakeNet:
    """Names to addresses and addresses to local servers: the only network these tests reach is loopback."""

    def __init__(self, names: dict[str, list[str]], routes: dict[tuple[str, int], int]) -> None:
        self.names = names
        self.routes = routes
        self.resolved: list[str] = []
        self.connected: list[tuple[str, int]] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.resolved.append(host)
        if host in self.names:
            return self.names[host]
        return await resolve_host(host, port)

    async def connect(self, address: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.connected.append((address, port))
        if (address, port) in self.routes:
            return await asyncio.open_connection("127.0.0.1", self.routes[address, port])
        return await connect_to(address, port)


class Listener:
    """A loopback-only TCP service (like the host's Redis) that counts who reached it."""

    def __init__(self) -> None:
        self.accepted = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> int:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted += 1
            writer.write(b"+PONG\r\n")
            writer.close()

        self.server = await asyncio.start_server(accept, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def _ask(proxy: EgressProxy, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(*proxy.address)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    await writer.wait_closed()
    return data


async def test_proxy_forwards_allowlisted_to_the_resolved_address_and_refuses_and_logs_the_rest(
    two_servers: tuple[int, int], caplog: pytest.LogCaptureFixture
) -> None:
    allowed, denied = two_servers
    net = FakeNet({"pkgs.example.test": [PUBLIC]}, {(PUBLIC, 80): allowed, (PUBLIC, 443): allowed})
    async with EgressProxy(
        ["pkgs.example.test"], run_id="r1", resolve=net.resolve, connect=net.connect
    ) as proxy:
        ok = await _ask(proxy, b"GET http://pkgs.example.test/x HTTP/1.1\r\nHost: x\r\n\r\n")
        with caplog.at_level(logging.WARNING, logger="sandbox.egress"):
            refused = await _ask(
                proxy, f"GET http://127.0.0.1:{denied}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode()
            )
            tunnel_refused = await _ask(proxy, f"CONNECT 127.0.0.1:{denied} HTTP/1.1\r\n\r\n".encode())
        tunnel = (
            "CONNECT pkgs.example.test:443 HTTP/1.1\r\n\r\n" + "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"
        )
        through = await _ask(proxy, tunnel.encode())
    assert ok.startswith(b"HTTP/1.0 200") and ok.endswith(f"hello from {allowed}".encode())
    assert refused.startswith(b"HTTP/1.1 403") and tunnel_refused.startswith(b"HTTP/1.1 403")
    assert b"200 Connection established" in through and through.endswith(f"hello from {allowed}".encode())
    assert net.connected == [(PUBLIC, 80), (PUBLIC, 443)]  # the checked address, never the name
    assert net.resolved == ["pkgs.example.test", "pkgs.example.test"]  # once per request
    reason = "not in this sandbox's egress allowlist"
    assert proxy.refused == [f"127.0.0.1:{denied} ({reason})"] * 2
    assert caplog.text.count(f"egress refused: run r1 asked for 127.0.0.1:{denied} ({reason})") == 2


@pytest.mark.parametrize(
    ("target", "allowlist", "names"),
    [
        ("localhost:{port}", ["localhost"], {}),  # the system resolver's own answer
        ("127.0.0.1:{port}", ["127.0.0.1"], {}),  # a literal
        ("2130706433:{port}", ["2130706433"], {}),  # 127.0.0.1 spelt as a number
        ("[::1]:{port}", ["::1"], {}),
        ("[::ffff:127.0.0.1]:{port}", ["::ffff:127.0.0.1"], {}),
        ("pkgs.example.test:{port}", ["pkgs.example.test"], {"pkgs.example.test": ["127.0.0.1"]}),
        ("pkgs.example.test:{port}", ["pkgs.example.test"], {"pkgs.example.test": ["::ffff:127.0.0.1"]}),
        ("pkgs.example.test:{port}", ["pkgs.example.test"], {"pkgs.example.test": [PUBLIC, "127.0.0.1"]}),
        ("pkgs.example.test:{port}", ["pkgs.example.test"], {"pkgs.example.test": ["not-an-address"]}),
    ],
)
async def test_an_allowlisted_name_that_resolves_to_the_host_is_refused_and_nothing_connects(
    target: str, allowlist: list[str], names: dict[str, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    listener = Listener()
    async with listener as port:
        # Every loopback address leads to the listener, so a connection anywhere near it would count.
        net = FakeNet(names, {(a, port): port for a in ("127.0.0.1", "::1", "::ffff:127.0.0.1", PUBLIC)})
        proxy = EgressProxy(allowlist, run_id="r2", resolve=net.resolve, connect=net.connect)
        async with proxy:
            with caplog.at_level(logging.WARNING, logger="sandbox.egress"):
                answer = await _ask(
                    proxy, f"CONNECT {target.format(port=port)} HTTP/1.1\r\n\r\nPING\r\n".encode()
                )
    assert answer.startswith(b"HTTP/1.1 403"), answer
    assert b"PONG" not in answer
    assert listener.accepted == 0 and net.connected == []
    assert len(net.resolved) == 1
    assert len(proxy.refused) == 1 and "address" in proxy.refused[0], proxy.refused
    assert "egress refused: run r2" in caplog.text


async def test_a_rebinding_name_is_resolved_once_and_connected_to_as_checked(
    two_servers: tuple[int, int],
) -> None:
    allowed, _ = two_servers
    answers = [[PUBLIC], ["127.0.0.1"]]
    connected: list[tuple[str, int]] = []

    async def rebinding(host: str, port: int) -> list[str]:
        return answers.pop(0)  # a second lookup would get loopback

    async def connect(address: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        connected.append((address, port))
        return await asyncio.open_connection("127.0.0.1", allowed)

    async with EgressProxy(["rebind.example.test"], resolve=rebinding, connect=connect) as proxy:
        ok = await _ask(proxy, b"GET http://rebind.example.test/ HTTP/1.1\r\nHost: x\r\n\r\n")
    assert ok.endswith(f"hello from {allowed}".encode())
    assert connected == [(PUBLIC, 80)] and answers == [["127.0.0.1"]]


async def test_proxy_answers_garbage_without_crashing() -> None:
    async with EgressProxy(["allowed.invalid"]) as proxy:
        assert (await _ask(proxy, b"NONSENSE\r\n\r\n")).startswith(b"HTTP/1.1 400")
        assert (await _ask(proxy, b"GET /relative HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 400")
        assert (await _ask(proxy, b"GET http://other.invalid/ HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 403")
        assert (await _ask(proxy, b"CONNECT allowed.invalid:443 HTTP/1.1\r\n\r\n")).startswith(
            b"HTTP/1.1 502"
        )


async def test_a_connect_target_with_a_control_character_is_refused_before_it_is_looked_up() -> None:
    """Hosts go to the log and the ledger's egress step, one line each: a name with a newline is not one."""
    net = FakeNet({"pkgs.example.test": [PUBLIC]}, {})
    forged = b"CONNECT x\nforged-line.example.test:443 HTTP/1.1\r\n\r\n"  # matches *.example.test
    async with EgressProxy(["*.example.test"], resolve=net.resolve, connect=net.connect) as proxy:
        answer = await _ask(proxy, forged)
        tabbed = await _ask(proxy, b"CONNECT a\tb.example.test:443 HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400") and tabbed.startswith(b"HTTP/1.1 400")
    assert proxy.refused == [] and proxy.reached == [] and net.resolved == []


class Recorder:
    """A loopback upstream that keeps every byte it is sent, answers one request, then listens a while."""

    def __init__(self) -> None:
        self.received = b""
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> int:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.received += await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                while chunk := await asyncio.wait_for(reader.read(4096), 0.3):  # a smuggled request?
                    self.received += chunk
            writer.close()

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def test_the_proxy_counts_the_bytes_it_carries_each_way_and_not_its_own_refusals() -> None:
    recorder = Recorder()
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    async with recorder as port:
        net = FakeNet({"pypi.org": [PUBLIC]}, {(PUBLIC, 80): port, (PUBLIC, 443): port})
        async with EgressProxy(["pypi.org"], resolve=net.resolve, connect=net.connect) as proxy:
            await _ask(proxy, b"GET http://other.example/ HTTP/1.1\r\n\r\n")  # refused: nothing carried
            assert (proxy.traffic.sent, proxy.traffic.received) == (0, 0)
            plain = await _ask(proxy, b"GET http://pypi.org/simple/ HTTP/1.1\r\nUser-Agent: pip\r\n\r\n")
            after_plain = (proxy.traffic.sent, proxy.traffic.received)
            tunnelled = b"GET /tunnelled HTTP/1.1\r\n\r\n"
            through = await _ask(proxy, b"CONNECT pypi.org:443 HTTP/1.1\r\n\r\n" + tunnelled)
    first = recorder.received.partition(b"GET /tunnelled")[0]
    assert plain == answer and through.endswith(answer)
    assert after_plain == (len(first), len(answer))  # the rebuilt head upstream saw, the answer it gave
    assert (proxy.traffic.sent, proxy.traffic.received) == (len(recorder.received), 2 * len(answer))


SMUGGLED = "GET /admin HTTP/1.1\r\nHost: attacker-service.example\r\n\r\n"


@pytest.mark.parametrize(
    ("url", "headers", "after", "host"),
    [
        ("http://pypi.org/simple/", "Host: attacker-service.example\r\n", "", "pypi.org"),
        ("http://pypi.org/simple/", "Host: pypi.org\r\nHost: attacker-service.example\r\n", "", "pypi.org"),
        ("http://pypi.org:8080/simple/", "host: attacker-service.example:8080\r\n", "", "pypi.org:8080"),
        ("http://PyPI.org/simple/", "", "", "pypi.org"),
        (
            "http://pypi.org/",
            "X-Forwarded-Host: attacker-service.example\r\nForwarded: host=attacker-service.example\r\n"
            "X-Original-URL: //attacker-service.example/\r\nX-Rewrite-URL: //attacker-service.example/\r\n"
            "X-Host: attacker-service.example\r\nX-HTTP-Host-Override: attacker-service.example\r\n"
            "Proxy-Connection: keep-alive\r\nUpgrade: h2c\r\n",
            "",
            "pypi.org",
        ),
        ("http://pypi.org/", "Connection: X-Route\r\nX-Route: attacker-service.example\r\n", "", "pypi.org"),
        ("http://pypi.org/", "Content-Length: 0\r\n", SMUGGLED, "pypi.org"),
        ("http://pypi.org/", "Content-Length: 5\r\n", "hello" + SMUGGLED, "pypi.org"),
    ],
)
async def test_plain_http_is_forwarded_with_the_checked_host_and_nothing_the_client_routes_by(
    url: str, headers: str, after: str, host: str
) -> None:
    recorder = Recorder()
    async with recorder as port:
        net = FakeNet({"pypi.org": [PUBLIC]}, {(PUBLIC, 80): port, (PUBLIC, 8080): port})
        async with EgressProxy(["pypi.org"], resolve=net.resolve, connect=net.connect) as proxy:
            answer = await _ask(
                proxy, f"GET {url} HTTP/1.1\r\n{headers}User-Agent: pip\r\n\r\n{after}".encode()
            )
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"ok"), answer
    sent = recorder.received.decode("latin-1")
    head, _, body = sent.partition("\r\n\r\n")
    lines = head.split("\r\n")
    assert lines[0].startswith("GET /") and lines[0].endswith(" HTTP/1.1")
    assert [line for line in lines if line.lower().startswith("host:")] == [f"Host: {host}"]
    assert "User-Agent: pip" in lines and "Connection: close" in lines
    assert "attacker" not in sent.lower() and "/admin" not in sent
    assert body == ("hello" if "Content-Length: 5" in headers else "")
    assert len(net.connected) == 1


@pytest.mark.parametrize(
    ("request_text", "status"),
    [
        ("GET http://pypi.org/ HTTP/1.1\r\nX-A: 1\nHost: attacker-service.example\r\n\r\n", 400),  # bare LF
        ("GET http://pypi.org/ HTTP/1.1\r\nX-A: 1\rHost: attacker-service.example\r\n\r\n", 400),  # bare CR
        ("GET http://pypi.org/ HTTP/1.1\r\nHost : attacker-service.example\r\n\r\n", 400),
        ("GET http://pypi.org/ HTTP/1.1\r\nX-A: 1\r\n Host: attacker-service.example\r\n\r\n", 400),  # folded
        ("GET http://pypi.org/ HTTP/1.1\r\nX-A: \x00\r\n\r\n", 400),
        ("GET\nHost:attacker-service.example http://pypi.org/ HTTP/1.1\r\n\r\n", 400),
        ("GET http://pypi.org/ HTTP/1.1\nHost:attacker-service.example\r\n\r\n", 400),
        ("GET http://pypi.org/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED, 400),
        ("GET http://pypi.org/ HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n" + SMUGGLED, 400),
        ("GET http://pypi.org/ HTTP/1.1\r\nContent-Length: +4\r\n\r\n", 400),
        ("GET http://pypi.org/ HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 413),
        ("GET http://pypi.org:x/ HTTP/1.1\r\n\r\n", 400),
    ],
)
async def test_a_plain_http_request_upstream_could_read_another_way_is_refused_and_nothing_connects(
    request_text: str, status: int
) -> None:
    recorder = Recorder()
    async with recorder as port:
        net = FakeNet({"pypi.org": [PUBLIC]}, {(PUBLIC, 80): port})
        async with EgressProxy(["pypi.org"], resolve=net.resolve, connect=net.connect) as proxy:
            answer = await _ask(proxy, request_text.encode("latin-1"))
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer
    assert net.connected == [] and recorder.received == b""


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


RESOLVE = """
import socket, sys
try:
    print("RESOLVED", socket.getaddrinfo(sys.argv[1], 80)[0][4])
except OSError as exc:
    print("FAILED", exc)
"""


def _forward_drops(run_id: str) -> int:
    """Packets that Steward's FORWARD rule for this run's bridge dropped (DNS included)."""
    listing = subprocess.run(
        ["iptables", "-w", "5", "-L", "FORWARD", "-v", "-x", "-n"], capture_output=True, text=True, check=True
    ).stdout
    counts = [int(line.split()[0]) for line in listing.splitlines() if f"steward:{run_id} " in line + " "]
    assert len(counts) == 1, listing
    return counts[0]


@pytest.mark.docker
async def test_setup_phase_admits_the_allowlist_only_and_work_phase_reaches_nothing(
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
    two_servers: tuple[int, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    allowed, denied = two_servers
    net = FakeNet({"pkgs.example.test": [PUBLIC]}, {(PUBLIC, 80): allowed})
    monkeypatch.setattr(egress, "resolve_host", net.resolve)
    monkeypatch.setattr(egress, "connect_to", net.connect)
    sandbox = DockerSandbox(
        sandbox_dir(tmp_path / "ws"),
        Limits(command_timeout=30),
        run_id=f"test-egress-{uuid.uuid4().hex[:8]}",
        image=sandbox_image,
        network="setup",
        allowlist=["pkgs.example.test", "localhost"],
        client=docker_client,
    )
    probe = f"exfil-{uuid.uuid4().hex[:12]}.example.com"
    async with sandbox:
        assert sandbox._gateway is not None and sandbox._gateway.proxy is not None
        gateway, proxy_port = sandbox._gateway.proxy.address
        # A host service on the bridge address, not the proxy: the sandbox must not reach it directly.
        side = ThreadingHTTPServer((gateway, 0), _Hello)
        threading.Thread(target=side.serve_forever, daemon=True).start()
        try:
            admitted = await sandbox.run(["python3", "-c", FETCH, "http://pkgs.example.test/"])
            refused = await sandbox.run(["python3", "-c", FETCH, f"http://127.0.0.1:{denied}/"])
            loopback = await sandbox.run(["python3", "-c", FETCH, f"http://localhost:{denied}/"])
            direct_host = await sandbox.run(["python3", "-c", DIRECT, gateway, str(side.server_address[1])])
            direct_out = await sandbox.run(["python3", "-c", DIRECT, "192.0.2.1", "80"])
            drops_before = _forward_drops(sandbox.run_id)
            resolver = await sandbox.run(["cat", "/etc/resolv.conf"])
            dns = await sandbox.run(f"RES_OPTIONS='timeout:2 attempts:1' python3 -c '{RESOLVE}' {probe}")
            drops_after = _forward_drops(sandbox.run_id)
            guarded = subprocess.run(["iptables", "-S"], capture_output=True, text=True, check=False)
            await sandbox.enter_work_phase()
            interfaces = await sandbox.run(["cat", "/proc/net/dev"])
            after_proxy = await sandbox.run(["python3", "-c", FETCH, "http://pkgs.example.test/"])
            after_host = await sandbox.run(["python3", "-c", DIRECT, gateway, str(proxy_port)])
            after_env = await sandbox.run(["env"])
        finally:
            side.shutdown()
            side.server_close()
    assert admitted.output.strip() == f"hello from {allowed}"
    assert net.connected == [(PUBLIC, 80)]  # the address the proxy checked, not a second lookup
    assert refused.output.startswith("FAILED HTTPError HTTP Error 403")
    assert loopback.output.startswith("FAILED HTTPError HTTP Error 403"), loopback.output
    assert sandbox.proxy_refusals[0] == f"127.0.0.1:{denied} (not in this sandbox's egress allowlist)"
    assert sandbox.proxy_refusals[1].startswith(f"localhost:{denied} (")
    assert "loopback address" in sandbox.proxy_refusals[1] and len(sandbox.proxy_refusals) == 2
    assert direct_host.output.startswith("FAILED"), direct_host.output
    assert direct_out.output.startswith("FAILED"), direct_out.output
    # Docker's embedded DNS is there and forwards unknown names out through the bridge; our rule drops them.
    assert "127.0.0.11" in resolver.output
    assert dns.output.startswith("FAILED"), dns.output
    assert probe not in net.resolved  # the proxy's resolver never saw it either
    assert drops_after > drops_before, (drops_before, drops_after)
    names = [line.split(":")[0].strip() for line in interfaces.output.splitlines()[2:]]
    assert names == ["lo"]
    assert after_proxy.output.startswith("FAILED URLError"), after_proxy.output
    assert after_host.output.startswith("FAILED"), after_host.output
    assert "PROXY" not in after_env.output.upper()
    rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True, check=False).stdout
    assert guarded.stdout.count(f"steward:{sandbox.run_id}") == 3  # FORWARD and INPUT DROP, but the proxy
    assert f"steward:{sandbox.run_id}" not in rules  # the firewall rules went with the network
    assert docker_client.networks.list(names=[f"steward-setup-{sandbox.run_id}"]) == []


REFUSING_IPTABLES = "#!/bin/sh\necho 'iptables: Permission denied (you must be root).' >&2\nexit 4\n"


def _break_the_firewall(how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """No iptables on PATH, or one that refuses every rule; returns what the refusal must name."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if how == "refused":
        fake = bin_dir / "iptables"
        fake.write_text(REFUSING_IPTABLES)
        fake.chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
        return "iptables refused a rule: iptables: Permission denied (you must be root)."
    monkeypatch.setenv("PATH", str(bin_dir))
    return "iptables was not found on PATH"


def _leftovers(client: docker.DockerClient, run_id: str) -> list[str]:
    networks = [n.name for n in client.networks.list(names=[f"steward-setup-{run_id}"])]
    containers = [
        c.name
        for c in client.containers.list(
            all=True, ignore_removed=True, filters={"label": f"{RUN_LABEL}={run_id}"}
        )
    ]
    return [str(name) for name in [*networks, *containers]]


@pytest.mark.docker
@pytest.mark.parametrize("how", ["missing", "refused"])
async def test_a_setup_phase_without_its_firewall_is_refused_and_leaves_nothing_behind(
    how: str,
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: without it every setup phase is refused before iptables is asked")
    why = _break_the_firewall(how, tmp_path, monkeypatch)
    run_id = f"test-nofw-{uuid.uuid4().hex[:8]}"
    sandbox = DockerSandbox(
        sandbox_dir(tmp_path / "ws"),
        Limits(command_timeout=30),
        run_id=run_id,
        image=sandbox_image,
        network="setup",
        allowlist=["pkgs.example.test"],
        client=docker_client,
    )
    with pytest.raises(SandboxError) as refused:
        async with sandbox:
            pytest.fail("the setup phase started without its firewall")
    message = str(refused.value)
    assert f"host firewall could not be put in place ({why})" in message
    assert "STEWARD_EGRESS_WITHOUT_FIREWALL=true" in message
    assert _leftovers(docker_client, run_id) == []
    assert sandbox.container_id is None


@pytest.mark.docker
async def test_the_operator_may_run_a_setup_phase_without_its_firewall_and_is_warned(
    sandbox_image: str,  # noqa: F811
    docker_client: docker.DockerClient,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    why = _break_the_firewall("missing", tmp_path, monkeypatch)
    if os.geteuid() != 0:
        why = "the worker is not root, so it cannot add iptables rules"
    run_id = f"test-nofw-{uuid.uuid4().hex[:8]}"
    sandbox = DockerSandbox(
        sandbox_dir(tmp_path / "ws"),
        Limits(command_timeout=30),
        run_id=run_id,
        image=sandbox_image,
        network="setup",
        allowlist=["pkgs.example.test"],
        client=docker_client,
        egress_without_firewall=True,
    )
    with caplog.at_level(logging.WARNING, logger="sandbox.network"):
        async with sandbox:
            assert sandbox._gateway is not None and sandbox._gateway.proxy is not None
            proxy = sandbox._gateway.proxy.url
            ran = await sandbox.run(["sh", "-c", "echo $HTTP_PROXY"])
            running = _leftovers(docker_client, run_id)
    assert ran.exit_code == 0 and ran.output.strip() == proxy
    assert sorted(running) == sorted([f"steward-setup-{run_id}", f"steward-{run_id}"])
    assert f"run {run_id}: setup phase without its firewall ({why})" in caplog.text
    assert _leftovers(docker_client, run_id) == []


def test_settings_keep_the_firewall_unless_the_operator_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STEWARD_EGRESS_WITHOUT_FIREWALL", raising=False)
    assert Settings().egress_without_firewall is False
    monkeypatch.setenv("STEWARD_EGRESS_WITHOUT_FIREWALL", "true")
    assert Settings().egress_without_firewall is True
