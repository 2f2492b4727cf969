"""The failpoints: armed only by their environment variable, each once, and loud about a wrong spec."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobs import failpoints


def test_a_wrong_spec_is_an_error_not_silence() -> None:
    for spec in ("clone", "klone=kill", "clone=explode", "clone=kill:3"):
        with pytest.raises(ValueError, match="STEWARD_FAILPOINTS"):
            failpoints.parse(spec)
    assert failpoints.parse(" clone=kill, pr=pause:0.5 ") == {
        "clone": failpoints.Armed("kill"),
        "pr": failpoints.Armed("pause", 0.5),
    }


@pytest.mark.anyio
async def test_raise_fires_once_and_unset_is_a_no_op(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(failpoints.STATE_ENV, str(tmp_path))
    failpoints.arm("push=raise")
    try:
        await failpoints.hit("clone")  # not armed
        with pytest.raises(failpoints.FailpointError):
            await failpoints.hit("push")
        await failpoints.hit("push")  # once
        failpoints.arm("push=raise")  # a new process with the same state dir: fired already
        await failpoints.hit("push")
    finally:
        failpoints.arm("")
    await failpoints.hit("push")


def test_kill_is_sigkill_from_the_environment_only(tmp_path: Path) -> None:
    code = "import anyio; from jobs import failpoints; anyio.run(failpoints.hit, 'clone'); print('alive')"
    env = {**os.environ, failpoints.ENV: "clone=kill", failpoints.STATE_ENV: str(tmp_path)}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == -9 and "alive" not in first.stdout
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "alive" in again.stdout  # fired once per state directory


@pytest.mark.anyio
async def test_pause_waits_for_its_go_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import anyio

    monkeypatch.setenv(failpoints.STATE_ENV, str(tmp_path))
    failpoints.arm("pr=pause")
    passed: list[str] = []

    async def step() -> None:
        await failpoints.hit("pr")
        passed.append("pr")

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(step)
            with anyio.fail_after(10):
                while not (tmp_path / "pr.paused").exists():
                    await anyio.sleep(0.02)
            await anyio.sleep(0.2)
            assert passed == []  # held at the step while the test injects its fault
            (tmp_path / "pr.go").touch()
    finally:
        failpoints.arm("")
    assert passed == ["pr"]
