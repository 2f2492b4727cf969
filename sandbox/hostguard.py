"""Firewall the setup network's bridge on the host: from it, only the egress proxy's port is open."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess

log = logging.getLogger(__name__)


def _rules(bridge: str, gateway: str, port: int, tag: str) -> list[list[str]]:
    comment = ["-m", "comment", "--comment", f"steward:{tag}"]
    return [
        # Inserted in this order, the ACCEPT ends up above the DROP.
        ["INPUT", "-i", bridge, *comment, "-j", "DROP"],
        ["INPUT", "-i", bridge, "-d", gateway, "-p", "tcp", "--dport", str(port), *comment, "-j", "ACCEPT"],
    ]


def guard(bridge: str, gateway: str, port: int, tag: str) -> bool:
    """Without this, any host service listening on all interfaces would answer the sandbox at the gateway."""
    if os.geteuid() != 0 or shutil.which("iptables") is None:
        log.warning("iptables unavailable: host services on 0.0.0.0 stay reachable from the setup phase")
        return False
    for rule in _rules(bridge, gateway, port, tag):
        done = subprocess.run(
            ["iptables", "-w", "5", "-I", *rule], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            log.warning("iptables refused a sandbox rule: %s", done.stderr.strip())
            unguard(bridge, gateway, port, tag)
            return False
    return True


def unguard(bridge: str, gateway: str, port: int, tag: str) -> None:
    """Remove the rules (each may be absent)."""
    if shutil.which("iptables") is None:
        return
    for rule in _rules(bridge, gateway, port, tag):
        subprocess.run(["iptables", "-w", "5", "-D", *rule], capture_output=True, check=False)
