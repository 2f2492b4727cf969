"""The setup phase's only way out: an HTTP proxy (CONNECT and plain HTTP) admitting allowlisted hosts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sandbox import addresses, egress_http

log = logging.getLogger(__name__)

Resolve = Callable[[str, int], Awaitable[list[str]]]
"""A host name (or literal) to the addresses it stands for; the proxy resolves each request exactly once."""
Connect = Callable[[str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
"""Open a connection to one address literal (never a name, so nothing is resolved a second time)."""

HEADER_LIMIT = 64 * 1024
CONNECT_TIMEOUT = 10.0
PIPE_CHUNK = 64 * 1024


def host_allowed(host: str, port: int, allowlist: Sequence[str]) -> bool:
    """`pypi.org` admits that host on any port, `*.example.org` its subdomains, `host:port` one port only."""
    host = host.lower().rstrip(".")
    for entry in allowlist:
        name, entry_port = _split_entry(entry.lower())
        if entry_port and entry_port != str(port):
            continue
        if name.startswith("*."):
            if host.endswith(name[1:]):
                return True
        elif host == name:
            return True
    return False


async def resolve_host(host: str, port: int) -> list[str]:
    """The system resolver's answer, on the host (the sandbox itself has no DNS)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def connect_to(address: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to exactly this address literal."""
    return await asyncio.open_connection(address, port)


def _split_entry(entry: str) -> tuple[str, str]:
    """`host:port`, `[v6]:port`, or a bare IPv6 literal (more than one colon, no port)."""
    if entry.startswith("["):
        name, _, rest = entry[1:].partition("]")
        return name, rest.removeprefix(":")
    if entry.count(":") > 1:
        return entry, ""
    name, _, port = entry.partition(":")
    return name, port


@dataclass
class Traffic:
    """Bytes the proxy carried between the sandbox and the hosts it reached (its own refusals not counted)."""

    sent: int = 0
    """From the sandbox to upstream: forwarded requests, and what went up a tunnel."""
    received: int = 0
    """From upstream to the sandbox: answers, and what came down a tunnel."""

    def add(self, other: Traffic) -> None:
        self.sent += other.sent
        self.received += other.received


class EgressProxy:
    """Forwards what the allowlist admits and answers 403 (and logs) everything else."""

    def __init__(
        self,
        allowlist: Sequence[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        run_id: str = "",
        resolve: Resolve | None = None,
        connect: Connect | None = None,
    ) -> None:
        self.allowlist = list(allowlist)
        self._resolve = resolve or resolve_host
        self._connect = connect or connect_to
        self.bind_host = host
        self.bind_port = port
        self.run_id = run_id
        self.refused: list[str] = []
        self.reached: list[str] = []
        """Each `host:port` the proxy connected to on the sandbox's behalf, once per connection."""
        self.traffic = Traffic()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> tuple[str, int]:
        """Where the proxy listens (after start)."""
        assert self._server is not None, "proxy not started"
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.bind_host, self.bind_port)

    async def close(self) -> None:
        """Stop listening and end every open tunnel (a sandbox that lost its network loses them too)."""
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> EgressProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            await self._handle(head, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)

    async def _handle(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line, _, rest = head.decode("latin-1").partition("\r\n")
        parts = request_line.split(" ")
        if len(parts) != 3:
            await _answer(writer, 400, "malformed request line")
            return
        method, target, version = parts
        length = 0
        if method == "CONNECT":
            if not egress_http.printable(target):  # it is logged and recorded: one line, nothing hidden
                await _answer(writer, 400, "malformed CONNECT target")
                return
            host, _, port_text = target.rpartition(":")
            port = int(port_text) if port_text.isdigit() else 443
            forward: bytes | None = None
        else:
            try:
                request = egress_http.rebuild(method, target, version, rest.split("\r\n")[:-2])
            except egress_http.BadRequest as exc:
                await _answer(writer, exc.status, str(exc))
                return
            host, port, forward, length = request.host, request.port, request.head, request.body_length
        host = host.strip("[]")
        if not host_allowed(host, port, self.allowlist):
            await self._refuse(writer, host, port, "not in this sandbox's egress allowlist")
            return
        body = await reader.readexactly(length)
        upstream = await self._open(writer, host, port)
        if upstream is None:
            return
        up_reader, up_writer = upstream
        self.reached.append(f"{host}:{port}")
        try:
            if forward is None:
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await asyncio.gather(
                    _pipe(reader, up_writer, self._count_sent), _pipe(up_reader, writer, self._count_received)
                )
            else:
                # Exactly one request: whatever else the client sends never reaches upstream.
                up_writer.write(forward + body)
                self._count_sent(len(forward) + len(body))
                await up_writer.drain()
                await _pipe(up_reader, writer, self._count_received)
        finally:
            up_writer.close()

    def _count_sent(self, count: int) -> None:
        self.traffic.sent += count

    def _count_received(self, count: int) -> None:
        self.traffic.received += count

    async def _refuse(self, writer: asyncio.StreamWriter, host: str, port: int, reason: str) -> None:
        self.refused.append(f"{host}:{port} ({reason})")
        log.warning("egress refused: run %s asked for %s:%d (%s)", self.run_id, host, port, reason)
        await _answer(writer, 403, f"{host}:{port} refused: {reason}")

    async def _open(
        self, writer: asyncio.StreamWriter, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """Resolve once, refuse if any answer is not public, then connect to the very addresses checked."""
        try:
            found = await asyncio.wait_for(self._resolve(host, port), CONNECT_TIMEOUT)
        except (OSError, TimeoutError, UnicodeError):
            await _answer(writer, 502, f"cannot resolve {host}")
            return None
        parsed = [addresses.parse(text) for text in found]
        checked = [address for address in parsed if address is not None]
        if not checked or len(checked) != len(parsed):
            await self._refuse(writer, host, port, f"it resolved to no usable address ({found})")
            return None
        own = addresses.host_addresses()
        for address in checked:
            reason = addresses.refusal(address, own)
            if reason is not None:
                await self._refuse(writer, host, port, reason)
                return None
        for address in checked:
            with contextlib.suppress(OSError, TimeoutError):
                return await asyncio.wait_for(self._connect(str(address), port), CONNECT_TIMEOUT)
        await _answer(writer, 502, f"cannot reach {host}:{port}")
        return None


async def _pipe(
    source: asyncio.StreamReader, sink: asyncio.StreamWriter, count: Callable[[int], None]
) -> None:
    try:
        while data := await source.read(PIPE_CHUNK):
            count(len(data))
            sink.write(data)
            await sink.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            sink.write_eof()


async def _answer(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    reason = {400: "Bad Request", 403: "Forbidden", 413: "Content Too Large", 502: "Bad Gateway"}[status]
    body = (message + "\n").encode()
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(ConnectionError):
        await writer.drain()
