"""The setup phases' download caches stay under their bound: least recently used first, no link followed."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import DEFAULT_CACHE_MAX_BYTES, Settings
from jobs.plan import SetupStep
from jobs.runs.setup import CACHE_MOUNT, Phase, sandbox_options
from sandbox import caches, hostfs

HOUR = 3600.0
MiB = 1024**2


def _cache(data: Path, repo: str, key: str, size: int, hours_ago: float) -> Path:
    """A cache as a setup phase leaves it: pip's files under the mounted dir, last used hours ago."""
    mounted = caches.cache_dir(data, repo, key)
    (mounted / "pip" / "http").mkdir(parents=True)
    (mounted / "pip" / "http" / "wheel").write_bytes(os.urandom(size))  # real blocks, not a sparse file
    when = time.time() - hours_ago * HOUR
    os.utime(mounted.parent, (when, when))
    return mounted.parent


def _usage(path: Path) -> int:
    return hostfs.disk_usage(path, caches.MAX_ENTRIES, caches.MAX_DEPTH).bytes


def test_the_least_recently_used_caches_go_until_all_fit_and_a_recent_one_stays(tmp_path: Path) -> None:
    oldest = _cache(tmp_path, "o/a", "k1", MiB, hours_ago=30)
    older = _cache(tmp_path, "o/b", "k1", 2 * MiB, hours_ago=20)
    old = _cache(tmp_path, "o/a", "k2", MiB, hours_ago=10)  # the same repository, other dependencies
    recent = _cache(tmp_path, "o/c", "k1", 3 * MiB, hours_ago=0.1)  # a run may be installing from it
    sizes = {path: _usage(path) for path in (oldest, older, old, recent)}
    total = sum(sizes.values())

    kept_all = caches.prune(tmp_path, total)
    assert kept_all.removed == [] and kept_all.before == total

    fits_without_oldest = caches.prune(tmp_path, total - sizes[oldest])
    assert fits_without_oldest.removed == [oldest] and not oldest.exists()
    assert oldest.parent.exists()  # o/a still has its k2 cache
    assert fits_without_oldest.after == total - sizes[oldest] and sizes[oldest] > MiB

    tiny = caches.prune(tmp_path, 1)
    assert tiny.removed == [older, old] and not older.exists() and not old.exists()
    assert not older.parent.exists() and not old.parent.exists()  # a repository with no cache left goes
    assert recent.exists() and tiny.after == _usage(recent) > 1  # over the bound, but in use


def test_links_the_sandbox_left_in_a_cache_are_measured_and_removed_as_links(tmp_path: Path) -> None:
    outside = tmp_path / "host"
    (outside / "dir").mkdir(parents=True)
    (outside / "dir" / "big").write_bytes(os.urandom(4 * MiB))
    (outside / "file").write_bytes(host_file := os.urandom(2 * MiB))
    data = tmp_path / "data"
    entry = _cache(data, "o/a", "k", 4096, hours_ago=5)
    mounted = entry / caches.MOUNTED
    (mounted / "to-dir").symlink_to(outside / "dir")
    (mounted / "pip" / "to-file").symlink_to(outside / "file")
    os.link(mounted / "pip" / "http" / "wheel", mounted / "pip" / "hardlink")  # its blocks count once
    usage = hostfs.disk_usage(entry, caches.MAX_ENTRIES, caches.MAX_DEPTH)
    assert usage.complete and usage.bytes < MiB  # what the links point at was not counted
    os.utime(entry, (time.time() - 5 * HOUR,) * 2)

    pruned = caches.prune(data, 1)
    assert pruned.removed == [entry] and not entry.exists()
    assert (outside / "dir" / "big").stat().st_size == 4 * MiB
    assert (outside / "file").read_bytes() == host_file


def test_a_link_where_the_host_keeps_a_cache_is_neither_measured_nor_followed(tmp_path: Path) -> None:
    outside = tmp_path / "host"
    (outside / "key").mkdir(parents=True)
    (outside / "key" / "big").write_bytes(os.urandom(MiB))
    data = tmp_path / "data"
    (data / caches.CACHES).mkdir(parents=True)
    (data / caches.CACHES / "linked-repo").symlink_to(outside)
    real = _cache(data, "o/a", "k", 4096, hours_ago=5)
    (real.parent / "linked-key").symlink_to(outside / "key")

    assert [e.path for e in caches.entries(data)] == [real]
    caches.prune(data, 1)
    assert (outside / "key" / "big").stat().st_size == MiB
    assert (data / caches.CACHES / "linked-repo").is_symlink()


def test_a_cache_too_deep_to_measure_goes_first_even_under_the_bound(tmp_path: Path) -> None:
    deep = _cache(tmp_path, "o/deep", "k", 4096, hours_ago=5)
    try:
        fd = os.open(deep / caches.MOUNTED, os.O_RDONLY | os.O_DIRECTORY)
        for _ in range(1200):  # deeper than the measuring walk, and than shutil.rmtree's recursion
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        os.close(fd)
        fine = _cache(tmp_path, "o/fine", "k", 4096, hours_ago=50)
        assert hostfs.disk_usage(deep, caches.MAX_ENTRIES, caches.MAX_DEPTH).complete is False

        pruned = caches.prune(tmp_path, 1024 * MiB)
        assert pruned.removed == [deep] and not deep.exists() and fine.exists()
    finally:  # pytest's own clean-up of old temporary directories cannot remove a tree this deep
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(deep)], check=True)


def test_the_setup_phase_prunes_other_caches_to_the_bound_before_it_mounts_its_own(tmp_path: Path) -> None:
    other = _cache(tmp_path, "o/other", "k", 2 * MiB, hours_ago=48)
    step = SetupStep(command="pip install x", reason="test", hosts=["pypi.org"], cache_key="deps1")
    options = sandbox_options(step, Phase(tmp_path, "o/r", cache_max_bytes=MiB))
    mounted, where = options["cache"]
    assert where == CACHE_MOUNT and mounted.is_dir() and mounted.name == caches.MOUNTED
    assert not other.exists()
    assert time.time() - os.lstat(mounted.parent).st_mtime < 60  # the run's own cache: marked used now


def test_the_bound_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().cache_max_bytes == DEFAULT_CACHE_MAX_BYTES == 2 * 1024**3
    monkeypatch.setenv("STEWARD_CACHE_MAX_BYTES", "1048576")
    assert Settings().cache_max_bytes == MiB
    monkeypatch.setenv("STEWARD_CACHE_MAX_BYTES", "0")
    with pytest.raises(ValidationError):
        Settings()
