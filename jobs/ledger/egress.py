"""The ledger's `egress` step: which hosts a setup phase reached and was refused, and the bytes carried.

Written by the setup phase (jobs.runs.setup) as the step's summary and output, one line per host, and read
back by `steward runs show`. Every host name in it passed the proxy's request-line checks (visible ASCII, no
spaces), so one line is one entry whatever the sandbox asked for.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

NAME = "egress"
_LINE = re.compile(r"(?P<what>reached|refused) (?P<entry>\S+(?: \(.*\))?) \((?P<count>\d+)x\)")
_BYTES = re.compile(r"carried (?P<sent>\d+) bytes? out, (?P<received>\d+) bytes? in")


@dataclass(frozen=True)
class EgressRecord:
    """Connections per `host:port` reached, refusals per `host:port (reason)`, and the bytes each way."""

    reached: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    received: int = 0

    @classmethod
    def of(cls, reached: Iterable[str], refused: Iterable[str], sent: int, received: int) -> EgressRecord:
        """From the proxy's lists (one entry per connection or refusal)."""
        hosts, refusals = Counter(reached), Counter(refused)
        return cls(dict(sorted(hosts.items())), dict(sorted(refusals.items())), sent, received)

    def summary(self) -> str:
        """The step's one line (recorded as its command)."""
        return f"setup phase: {len(self.reached)} host(s) reached, {len(self.refused)} refused"

    def text(self) -> str:
        """The step's output, one line per host, then the bytes."""
        lines = [f"reached {host} ({count}x)" for host, count in self.reached.items()]
        lines += [f"refused {entry} ({count}x)" for entry, count in self.refused.items()]
        lines.append(f"carried {self.sent} bytes out, {self.received} bytes in")
        return "\n".join(lines)

    @classmethod
    def parse(cls, text: str) -> EgressRecord:
        """What text() wrote; lines it does not know (an excerpt's cut marker) are skipped."""
        reached: dict[str, int] = {}
        refused: dict[str, int] = {}
        sent = received = 0
        for line in text.splitlines():
            if match := _LINE.fullmatch(line):
                into = reached if match["what"] == "reached" else refused
                into[match["entry"]] = into.get(match["entry"], 0) + int(match["count"])
            elif match := _BYTES.fullmatch(line):
                sent, received = int(match["sent"]), int(match["received"])
        return cls(reached, refused, sent, received)
