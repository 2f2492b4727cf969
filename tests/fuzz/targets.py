"""Every fuzz target, by name: the parsers here, the HTTP ones (which need a server) in tests.fuzz.http."""

from __future__ import annotations

from tests.fuzz import changelog, commands, config, diffcheck, plan
from tests.fuzz.core import Target

PARSERS: list[Target] = [commands.TARGET, config.TARGET, plan.TARGET, diffcheck.TARGET, changelog.TARGET]
