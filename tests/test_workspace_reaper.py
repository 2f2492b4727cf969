"""At worker start, the workspaces a crashed worker left are removed; a live run's is kept (real dirs)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.runs.work import workspace_root, workspaces_dir
from jobs.worker import reap_workspaces as reap_at_start
from sandbox import neutral, quota, workspaces
from sandbox.labels import HOST_LABEL, PID_LABEL, PID_START_LABEL, process_start, run_labels
from sandbox.reaper import DEFAULT_MAX_AGE, reap_workspaces


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.fixture
def other_worker() -> Iterator[subprocess.Popen[bytes]]:
    """Another live process on this host, standing in for a second worker using the same data dir."""
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def workspace(data_dir: Path, run_id: str, labels: dict[str, str] | None) -> Path:
    """A clone-shaped workspace: git dir, work tree with files and a nested directory, and its owner file."""
    root = workspace_root(data_dir, run_id)
    (root / "git" / "objects").mkdir(parents=True)
    (root / "work" / "docs" / "deep").mkdir(parents=True)
    (root / "work" / "README.md").write_text("# x\n")
    (root / "work" / "docs" / "deep" / "a.md").write_text("a\n")
    if labels is not None:
        (root / workspaces.OWNER_FILE).write_text(json.dumps(labels))
    return root


def test_dead_owners_lose_their_workspaces_live_ones_keep_them(
    tmp_path: Path, other_worker: subprocess.Popen[bytes]
) -> None:
    data = tmp_path / "data"
    other_start = process_start(other_worker.pid)
    assert other_start is not None
    elsewhere = {**run_labels("x"), HOST_LABEL: "elsewhere"}
    long_ago = str(int(time.time() - DEFAULT_MAX_AGE - 60))
    dead = workspace(data, "r-dead", {**run_labels("r-dead"), PID_LABEL: str(_dead_pid())})
    recycled = workspace(data, "r-recycled", {**run_labels("r-recycled"), PID_START_LABEL: "1"})
    mine = workspace(data, "r-mine", None)
    workspaces.claim(mine)  # this very process: a run in progress
    other = workspace(
        data,
        "r-other",
        {**run_labels("r-other"), PID_LABEL: str(other_worker.pid), PID_START_LABEL: other_start},
    )
    foreign_new = workspace(data, "r-foreign-new", elsewhere)
    foreign_old = workspace(data, "r-foreign-old", {**elsewhere, "steward.created": long_ago})
    unowned_new = workspace(data, "r-unowned-new", None)
    unowned_old = workspace(data, "r-unowned-old", None)
    os.utime(unowned_old, (time.time() - DEFAULT_MAX_AGE - 60,) * 2)
    garbled = workspace(data, "r-garbled", None)
    (garbled / workspaces.OWNER_FILE).write_text("{not json")
    os.utime(garbled, (time.time() - DEFAULT_MAX_AGE - 60,) * 2)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep\n")
    (workspaces_dir(data) / "r-link").symlink_to(outside, target_is_directory=True)

    removed = reap_workspaces(workspaces_dir(data))

    for gone in (dead, recycled, foreign_old, unowned_old, garbled):
        assert not gone.exists(), gone.name
    for kept in (mine, other, foreign_new, unowned_new):
        assert (kept / "work" / "docs" / "deep" / "a.md").is_file(), kept.name
    assert (outside / "keep.txt").is_file()
    assert sorted(removed) == sorted(
        f"workspace {p.name}" for p in (dead, recycled, foreign_old, unowned_old, garbled)
    )

    other_worker.kill()
    other_worker.wait()
    assert reap_workspaces(workspaces_dir(data)) == ["workspace r-other"]  # its worker is gone now


@pytest.mark.skipif(not quota.can_mount(), reason="quota mounts need root, a loop device, mkfs")
def test_a_mounted_workspace_is_unmounted_before_it_is_removed(tmp_path: Path) -> None:
    root = workspace_root(tmp_path, "r-mounted")
    (root / "work").mkdir(parents=True)
    assert quota.mount(root / "work", 16 * 1024**2)
    try:
        (root / "work" / "file.txt").write_text("x\n")
        (root / workspaces.OWNER_FILE).write_text(
            json.dumps({**run_labels("r"), PID_LABEL: str(_dead_pid())})
        )
        assert reap_workspaces(workspaces_dir(tmp_path)) == ["workspace r-mounted"]
        assert not os.path.ismount(root / "work") and not root.exists()
    finally:
        quota.unmount(root / "work")


def test_a_neutral_work_tree_goes_with_its_run_and_nothing_else_a_link_names_does(tmp_path: Path) -> None:
    dead = {**run_labels("r"), PID_LABEL: str(_dead_pid())}
    root = workspace_root(tmp_path, "r-plain")
    root.mkdir(parents=True)
    work = workspaces.make_work_tree(root, None)  # no quota: the work tree lives under a neutral root
    (work / "README.md").write_text("# x\n")
    holder = neutral.holder(root / "work")
    assert holder is not None and holder.parent in neutral.ROOTS and "r-plain" not in str(holder)
    (root / workspaces.OWNER_FILE).write_text(json.dumps(dead))
    keep = tmp_path / "elsewhere" / neutral.WORK  # a link Steward did not make: its target stays
    keep.mkdir(parents=True)
    forged = workspace_root(tmp_path, "r-forged")
    forged.mkdir(parents=True)
    (forged / "work").symlink_to(keep)
    (forged / workspaces.OWNER_FILE).write_text(json.dumps(dead))
    try:
        assert sorted(reap_workspaces(workspaces_dir(tmp_path))) == [
            "workspace r-forged",
            "workspace r-plain",
        ]
        assert not holder.exists() and not root.exists() and keep.is_dir()
    finally:
        neutral.discard(root / "work")


@pytest.mark.anyio
async def test_the_worker_reaps_its_data_dir_at_start_and_survives_a_missing_one(tmp_path: Path) -> None:
    workspace(tmp_path, "r-dead", {**run_labels("r-dead"), PID_LABEL: str(_dead_pid())})
    assert await reap_at_start(tmp_path) == 1
    assert await reap_at_start(tmp_path / "never-made") == 0
