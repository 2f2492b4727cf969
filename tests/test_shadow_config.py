"""`workflows.<name>.mode`: normal by default, shadow when asked, anything else an error naming the field; the
config diff lists a change of mode; each workflow's mode is read by name."""

from __future__ import annotations

import pytest

from app.config.loader import parse_config
from app.config.simulate import diff
from jobs.shadow.mode import in_shadow, mode_of, read_only


def test_every_workflow_is_normal_unless_it_says_shadow() -> None:
    config = parse_config("workflows:\n  duplicates:\n    mode: shadow\n").config
    assert [mode_of(config, name) for name in ("docs", "tests", "duplicates")] == [
        "normal",
        "normal",
        "shadow",
    ]
    assert in_shadow(config, "duplicates") and not in_shadow(config, "docs")
    assert mode_of(config, "not-duplicate") == "normal"  # a command with no workflow section


@pytest.mark.parametrize("value", ["silent", "true", "Shadow", "[shadow]"])
def test_any_other_mode_is_an_error_on_its_line(value: str) -> None:
    result = parse_config(f"workflows:\n  docs:\n    mode: {value}\n")
    (error,) = result.errors
    assert error.field == "workflows.docs.mode" and error.line == 3
    assert "normal" in error.message and "shadow" in error.message
    assert not in_shadow(result.config, "docs")  # a broken file falls back to the defaults


def test_the_config_diff_lists_a_workflow_leaving_shadow_mode() -> None:
    base = parse_config("workflows:\n  docs:\n    mode: shadow\n").config
    head = parse_config("{}\n").config
    (change,) = diff(base, head)
    assert (change.key, change.before, change.after) == ("workflows.docs.mode", "shadow", "normal")


def test_a_shadow_work_token_can_only_read() -> None:
    wanted = {"contents": "write", "issues": "write", "pull_requests": "write", "statuses": "write"}
    assert read_only(wanted) == {
        "contents": "read", "issues": "read", "pull_requests": "read", "statuses": "read", "metadata": "read",
    }  # fmt: skip
