"""Firewall the setup network's bridge on the host: from it, only the egress proxy's port is open.

Docker 20.10 gives an `internal` network's containers a default route anyway, and its embedded DNS
(127.0.0.11) forwards every unknown name from the container out through the bridge: only Docker's own
isolation rule drops those queries. The FORWARD rule makes that our rule too, so no packet from the
bridge is routed anywhere (DNS included); the proxy resolves names on the host.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess

from sandbox.base import SandboxError

log = logging.getLogger(__name__)


def _rules(bridge: str, gateway: str, port: int, tag: str) -> list[list[str]]:
    comment = ["-m", "comment", "--comment", f"steward:{tag}"]
    return [
        ["FORWARD", "-i", bridge, *comment, "-j", "DROP"],
        # Inserted in this order, the ACCEPT ends up above the DROP.
        ["INPUT", "-i", bridge, *comment, "-j", "DROP"],
        ["INPUT", "-i", bridge, "-d", gateway, "-p", "tcp", "--dport", str(port), *comment, "-j", "ACCEPT"],
    ]


class FirewallUnavailable(SandboxError):
    """The rules could not be put in place; the message says what is missing."""


def guard(bridge: str, gateway: str, port: int, tag: str) -> None:
    """Without this, any host service listening on all interfaces would answer the sandbox at the gateway."""
    if os.geteuid() != 0:
        raise FirewallUnavailable("the worker is not root, so it cannot add iptables rules")
    if shutil.which("iptables") is None:
        raise FirewallUnavailable("iptables was not found on PATH")
    for rule in _rules(bridge, gateway, port, tag):
        done = subprocess.run(
            ["iptables", "-w", "5", "-I", *rule], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            unguard(bridge, gateway, port, tag)
            raise FirewallUnavailable(f"iptables refused a rule: {done.stderr.strip() or done.returncode}")


def unguard(bridge: str, gateway: str, port: int, tag: str) -> None:
    """Remove the rules (each may be absent)."""
    if shutil.which("iptables") is None:
        return
    for rule in _rules(bridge, gateway, port, tag):
        subprocess.run(["iptables", "-w", "5", "-D", *rule], capture_output=True, check=False)


def sweep() -> list[str]:
    """Drop rules whose bridge is gone (their run crashed before it could remove them); the rules removed."""
    if os.geteuid() != 0 or shutil.which("iptables") is None:
        return []
    stale = []
    for chain in ("INPUT", "FORWARD"):
        stale.extend(_sweep_chain(chain))
    return stale


def _sweep_chain(chain: str) -> list[str]:
    listing = subprocess.run(
        ["iptables", "-w", "5", "-S", chain], capture_output=True, text=True, check=False
    )
    stale = []
    for line in listing.stdout.splitlines():
        words = shlex.split(line)  # iptables -S quotes comments
        if "steward:" not in line or "-i" not in words or words[:2] != ["-A", chain]:
            continue
        bridge = words[words.index("-i") + 1]
        if not os.path.exists(f"/sys/class/net/{bridge}"):
            subprocess.run(["iptables", "-w", "5", "-D", *words[1:]], capture_output=True, check=False)
            stale.append(line)
    return stale
