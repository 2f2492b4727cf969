"""The host walks workspace paths one component at a time: a link anywhere, `..` or `/...` is refused."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from jobs.workflows.docs.files import read_text, write_text
from sandbox import hostfs
from sandbox.hostfs import UnsafePath

PATH = "a/b/c/file.md"
LEVELS = ["a", "a/b", "a/b/c", "a/b/c/file.md"]
BAD_PATHS = ["../x", "a/../../x", "a/./b", "a//b", "/etc/passwd", "", ".", "a/b/..", "a\0b", "a/"]


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """A workspace holding a/b/c/file.md, and an outside directory holding the same path."""
    workspace, outside = tmp_path / "ws", tmp_path / "outside"
    for root in (workspace, outside):
        (root / "a/b/c").mkdir(parents=True)
        (root / PATH).write_text(f"{root.name} text\n")
    (workspace / "twin/b/c").mkdir(parents=True)  # an inside target for links
    (workspace / "twin/b/c/file.md").write_text("twin text\n")
    return workspace, outside


def _snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    found = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            content = os.readlink(path).encode()
        else:
            content = b"" if stat.S_ISDIR(info.st_mode) else path.read_bytes()
        found[str(path.relative_to(root))] = (info.st_mtime_ns, content)
    return found


def _plant(workspace: Path, level: str, target: Path) -> None:
    """Replace one component of the path by a link to target."""
    victim = workspace / level
    if victim.is_dir():
        victim.rename(workspace / f"moved-{victim.name}")
    else:
        victim.unlink()
    victim.symlink_to(target, target_is_directory=target.is_dir())


ENTRY_POINTS: dict[str, Callable[[Path, str], object]] = {
    "read_bytes": hostfs.read_bytes,
    "write_bytes": lambda root, rel: hostfs.write_bytes(root, rel, b"host text\n"),
    "read_text": read_text,
    "write_text": lambda root, rel: write_text(root, rel, "host text\n"),
}


@pytest.mark.parametrize("where", ["outside", "inside"])
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_a_link_at_any_level_is_refused(tree: tuple[Path, Path], level: str, where: str, entry: str) -> None:
    workspace, outside = tree
    parts = PATH.split("/")[: level.count("/") + 1]
    target = outside.joinpath(*parts) if where == "outside" else workspace.joinpath("twin", *parts[1:])
    _plant(workspace, level, target)
    before, before_ws = _snapshot(outside), _snapshot(workspace)
    with pytest.raises(UnsafePath, match="symbolic link"):
        ENTRY_POINTS[entry](workspace, PATH)
    assert _snapshot(outside) == before
    assert _snapshot(workspace) == before_ws  # no temp file left behind, the link itself untouched


@pytest.mark.parametrize("level", LEVELS[:-1])
def test_stat_refuses_a_link_on_the_way_and_never_follows_the_last(
    tree: tuple[Path, Path], level: str
) -> None:
    workspace, outside = tree
    _plant(workspace, level, outside / level)
    with pytest.raises(UnsafePath, match="symbolic link"):
        hostfs.lstat(workspace, PATH)
    with pytest.raises(UnsafePath, match="symbolic link"):
        hostfs.is_file(workspace, PATH)


def test_a_final_link_is_not_a_file(tree: tuple[Path, Path]) -> None:
    workspace, outside = tree
    _plant(workspace, PATH, outside / PATH)
    found = hostfs.lstat(workspace, PATH)
    assert found is not None and stat.S_ISLNK(found.st_mode)
    assert not hostfs.is_file(workspace, PATH)
    assert hostfs.is_file(workspace, "twin/b/c/file.md") and hostfs.lstat(workspace, "nope") is None


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_dot_dot_absolute_and_empty_paths_are_refused_everywhere(tree: tuple[Path, Path], bad: str) -> None:
    workspace, outside = tree
    before = _snapshot(outside)
    for entry in [*ENTRY_POINTS.values(), hostfs.lstat, hostfs.is_file]:
        with pytest.raises(UnsafePath):
            entry(workspace, bad)
    assert _snapshot(outside) == before


def test_missing_parents_are_made_and_a_file_is_replaced_keeping_its_mode(tree: tuple[Path, Path]) -> None:
    workspace, _ = tree
    (workspace / PATH).chmod(0o640)
    inode = (workspace / PATH).stat().st_ino
    hostfs.write_bytes(workspace, PATH, b"new\n")
    assert (workspace / PATH).read_bytes() == b"new\n" and (workspace / PATH).stat().st_ino != inode
    assert stat.S_IMODE((workspace / PATH).stat().st_mode) == 0o640
    hostfs.write_bytes(workspace, "new/dir/x.md", b"x\n")
    assert hostfs.read_bytes(workspace, "new/dir/x.md") == b"x\n"
    assert sorted(p.name for p in (workspace / "a/b/c").iterdir()) == ["file.md"]  # no temp file left


def test_a_link_planted_where_a_parent_would_be_made_is_refused(tree: tuple[Path, Path]) -> None:
    workspace, outside = tree
    (workspace / "made").symlink_to(outside)
    with pytest.raises(UnsafePath, match="symbolic link"):
        hostfs.write_bytes(workspace, "made/deeper/x.md", b"x\n")
    assert not (outside / "deeper").exists()


def test_a_fifo_a_directory_and_a_big_file_are_refused_without_blocking(tree: tuple[Path, Path]) -> None:
    workspace, _ = tree
    os.mkfifo(workspace / "fifo")
    with pytest.raises(UnsafePath, match="not a regular file"):
        hostfs.read_bytes(workspace, "fifo")
    with pytest.raises(UnsafePath, match="not a regular file"):
        hostfs.read_bytes(workspace, "a/b")
    with pytest.raises(UnsafePath, match="not a regular file"):
        hostfs.write_bytes(workspace, "a/b", b"x")
    (workspace / "big.md").write_bytes(b"x" * 2000)
    with pytest.raises(hostfs.TooLarge):
        hostfs.read_bytes(workspace, "big.md", max_bytes=1000)
    assert read_text(workspace, "big.md") is not None and read_text(workspace, "absent.md") is None


def test_the_file_listing_follows_no_link(tree: tuple[Path, Path]) -> None:
    workspace, outside = tree
    (workspace / "to-outside").symlink_to(outside)
    (workspace / "file-link.md").symlink_to(outside / PATH)
    (workspace / ".git").mkdir()
    (workspace / ".git/config").write_text("[core]\n")
    assert hostfs.regular_files(workspace, 100) == [PATH, "twin/b/c/file.md"]
    assert hostfs.regular_files(workspace, 1) == [PATH]
