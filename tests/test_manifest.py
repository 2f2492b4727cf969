"""app.yml and the README stay true to the code: events routed, permissions declared, the command table."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from app.commands.help import command_table_markdown
from app.dashboard.membership import PERMISSIONS as DASHBOARD_PERMISSIONS
from app.handlers import build_router
from app.settings import Settings
from policies.loader import load_policy

ROOT = Path(__file__).parent.parent
ALWAYS_DELIVERED = {"installation", "installation_repositories"}
"""GitHub sends these to every App; a manifest cannot subscribe to them."""
LEVELS = ["read", "write"]


def manifest() -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load((ROOT / "app.yml").read_text())
    return data


def test_manifest_events_are_exactly_the_routed_ones() -> None:
    routed = {event for event, _action in build_router(Settings()).routes()}
    assert set(manifest()["default_events"]) == routed - ALWAYS_DELIVERED  # type: ignore[arg-type]


def test_manifest_permissions_are_the_union_of_the_policies_and_the_dashboards() -> None:
    union: dict[str, str] = {"metadata": "read", **DASHBOARD_PERMISSIONS}
    for workflow in sorted(p.stem for p in (ROOT / "policies").glob("*.yml")):
        for scope, level in load_policy(workflow).permissions.items():
            if LEVELS.index(level) >= LEVELS.index(union.get(scope, "read")):
                union[scope] = level
    assert manifest()["default_permissions"] == union


def test_readme_command_table_is_generated_from_the_registry() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(
        r"<!-- steward:exec steward help --markdown -->\n(.*?)\n<!-- /steward:exec -->", readme, re.DOTALL
    )
    assert block is not None, "README lost its generated command table"
    assert block.group(1).strip() == command_table_markdown().strip()
