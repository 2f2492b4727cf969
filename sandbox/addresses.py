"""Which resolved addresses the setup phase's proxy may connect to: public ones that are not this host's."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import psutil

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("is_unspecified", "an unspecified"),
    ("is_loopback", "a loopback"),
    ("is_link_local", "a link-local"),
    ("is_multicast", "a multicast"),
    ("is_private", "a private"),
    ("is_reserved", "a reserved"),
)


def host_addresses() -> set[IPAddress]:
    """Every address on this host's interfaces (a public one would pass the category checks)."""
    found: set[IPAddress] = set()
    for entries in psutil.net_if_addrs().values():
        for entry in entries:
            parsed = parse(entry.address)
            if parsed is not None:
                found.add(parsed)
    return found


def parse(text: str) -> IPAddress | None:
    """An address as getaddrinfo or psutil spell it (an IPv6 zone such as `%eth0` is dropped)."""
    try:
        return ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None


def _embedded(address: IPAddress) -> list[IPAddress]:
    """The address and every IPv4 address it carries (mapped, compatible, 6to4, Teredo, NAT64)."""
    if isinstance(address, ipaddress.IPv4Address):
        return [address]
    inner: list[IPAddress] = []
    if address.ipv4_mapped is not None:
        inner.append(address.ipv4_mapped)
    if int(address) >> 32 == 0 and int(address) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        inner.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        inner.append(address.sixtofour)
    if address.teredo is not None:
        inner.extend(address.teredo)
    if address in NAT64:
        inner.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [*inner, address]


def refusal(address: IPAddress, own: Iterable[IPAddress]) -> str | None:
    """Why the proxy must not connect there (None: it may), e.g. "127.0.0.1 is a loopback address"."""
    own_set = set(own)
    for candidate in _embedded(address):
        subject = str(address) if candidate == address else f"{address} carries {candidate}, which"
        for attribute, words in _CATEGORIES:
            if getattr(candidate, attribute):
                return f"{subject} is {words} address"
        if candidate in own_set:
            return f"{subject} is one of this host's own addresses"
        if not candidate.is_global:
            return f"{subject} is not a public address"
    return None
