"""Messages about a configuration name sizes and times in units, and `steward run` shows their lines."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from app.config.loader import parse_config
from app.config.model import LimitsOverride
from app.config.types import Duration, Size
from app.config.units import show_bytes, show_limit, show_seconds
from app.constants import CONFIG_PATH
from jobs.runs.local import read_config
from jobs.runs.localitem import LocalRunError
from policies.loader import load_policy

WRITING = ("docs", "tests")


@pytest.mark.parametrize(("count", "text"), [(68719476736, "64 GiB"), (1536, "1.5 KiB"), (512, "512 bytes")])
def test_sizes_read_in_units(count: int, text: str) -> None:
    assert show_bytes(count) == text


@pytest.mark.parametrize(("seconds", "text"), [(600, "10 min"), (5400, "1 h 30 min"), (90, "1 min 30 s")])
def test_durations_read_in_units(seconds: float, text: str) -> None:
    assert show_seconds(seconds) == text


@pytest.mark.parametrize("workflow", WRITING)
@pytest.mark.parametrize("name", list(LimitsOverride.model_fields))
def test_every_limit_above_the_policy_is_told_in_its_unit(workflow: str, name: str) -> None:
    """Every limit field, present and future: a size or a duration never comes out as a raw number."""
    ceiling = getattr(load_policy(workflow).limits, name)
    asked = ceiling * 4
    result = parse_config(f"workflows:\n  {workflow}:\n    limits:\n      {name}: {asked}\n")
    [issue] = result.errors
    assert (issue.field, issue.line) == (f"workflows.{workflow}.limits.{name}", 4)
    assert issue.message.startswith(
        f"{show_limit(name, asked)} is above the {workflow} policy's {show_limit(name, ceiling)}"
    )
    kinds = typing.get_args(LimitsOverride.model_fields[name].annotation)
    if Size in kinds or Duration in kinds:
        assert f"{asked:g}" not in issue.message and f"{ceiling:g}" not in issue.message


def test_steward_run_prints_each_config_error_with_its_line(tmp_path: Path) -> None:
    config = tmp_path / CONFIG_PATH
    config.parent.mkdir(parents=True)
    config.write_text("prefix: /bot\nnoise:\n  runs_per_day: x\nworkflows:\n  docs: {paths: ['src/**']}\n")
    with pytest.raises(LocalRunError) as caught:
        read_config(tmp_path)
    lines = str(caught.value).splitlines()
    assert lines[1:] == [
        f"  {CONFIG_PATH}:3: noise.runs_per_day: input should be a valid integer",
        f"  {CONFIG_PATH}:5: workflows.docs.paths.0: " + parse_config(config.read_text()).errors[1].message,
    ]
