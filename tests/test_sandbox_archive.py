"""The extractor of a container's workspace archive against hostile streams, on real files."""

from __future__ import annotations

import io
import socket
import tarfile
from pathlib import Path

import docker
import pytest
from docker.errors import DockerException

from sandbox import archive, container, transfer


def _tar(*members: tuple[tarfile.TarInfo, bytes | None]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    buffer.seek(0)
    return buffer


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _entry(name: str, kind: bytes, link: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info, None


def test_a_plain_workspace_comes_back_whole(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    stream = _tar(
        _entry("workspace", tarfile.DIRTYPE),
        _file("workspace/src/a.py", b"print(1)\n"),
        _entry("workspace/link", tarfile.SYMTYPE, "src/a.py"),
        _entry("workspace/copy", tarfile.LNKTYPE, "workspace/src/a.py"),
    )
    done = archive.extract(stream, dest, max_bytes=1000, strip="workspace")
    assert (dest / "src/a.py").read_bytes() == b"print(1)\n"
    assert (dest / "link").is_symlink() and (dest / "link").read_bytes() == b"print(1)\n"
    assert (dest / "copy").read_bytes() == b"print(1)\n" and not (dest / "copy").is_symlink()
    assert done.files == 3 and done.size == 18


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ([_file("/etc/evil", b"x")], "absolute"),
        ([_file("workspace/../../evil", b"x")], "'..'"),
        ([_entry("workspace/hard", tarfile.LNKTYPE, "/etc/passwd")], "absolute"),
        ([_entry("workspace/hard", tarfile.LNKTYPE, "workspace/not-yet")], "hard link"),
        ([_file("workspace/a", b"1"), _file("workspace/a", b"2")], "twice"),
    ],
)
def test_hostile_entries_are_refused(
    tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], why: str
) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (tmp_path / "outside").mkdir()
    with pytest.raises(archive.UnsafeArchive, match=why):
        archive.extract(_tar(*members), dest, max_bytes=1000, strip="workspace")
    assert list((tmp_path / "outside").iterdir()) == []
    assert not (tmp_path.parent / "evil").exists()


def test_a_write_through_an_inside_symlink_to_a_directory_is_refused(tmp_path: Path) -> None:
    """The link itself stays inside; a later entry under it must not be written through it."""
    for name, target in [("self", "."), ("sub", "sub2")]:
        dest = tmp_path / name
        dest.mkdir()
        stream = _tar(
            _entry("sub2", tarfile.DIRTYPE), _entry("d", tarfile.SYMTYPE, target), _file("d/x", b"1")
        )
        with pytest.raises(archive.UnsafeArchive, match="not a directory"):
            archive.extract(stream, dest, max_bytes=10)
        assert not (dest / "x").exists() and not (dest / "sub2" / "x").exists()


def test_links_out_of_the_workspace_are_never_made(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    stream = _tar(
        _entry("up", tarfile.SYMTYPE, "../../outside"),
        _entry("abs", tarfile.SYMTYPE, "/etc"),
        _entry("a/b/ok", tarfile.SYMTYPE, "../../c"),
        _entry("a/deep", tarfile.SYMTYPE, "b/../../../x"),
    )
    done = archive.extract(stream, dest, max_bytes=10)
    assert [s.split(" ")[0] for s in done.skipped] == ["up", "abs", "a/deep"]
    assert (dest / "a/b/ok").is_symlink() and not (dest / "up").exists() and not (dest / "abs").is_symlink()


def test_devices_and_fifos_are_never_made(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    stream = _tar(
        _entry("dev", tarfile.CHRTYPE), _entry("blk", tarfile.BLKTYPE), _entry("fifo", tarfile.FIFOTYPE)
    )
    done = archive.extract(stream, dest, max_bytes=10)
    assert sorted(done.skipped) == ["blk", "dev", "fifo"] and list(dest.iterdir()) == []


def test_size_entry_count_and_depth_are_bounded(tmp_path: Path) -> None:
    for name, stream, kwargs, why in [
        ("huge", _tar(_file("big", b"x" * 5000)), {"max_bytes": 4096}, "size bound"),
        (
            "many",
            _tar(*[_file(f"f{i}", b"") for i in range(11)]),
            {"max_bytes": 10, "max_entries": 10},
            "entries",
        ),
        ("deep", _tar(_file("/".join(["d"] * 70) + "/f", b"")), {"max_bytes": 10}, "deeper"),
    ]:
        dest = tmp_path / name
        dest.mkdir()
        with pytest.raises(archive.UnsafeArchive, match=why):
            archive.extract(stream, dest, **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "huge" / "big").exists() or (tmp_path / "huge" / "big").stat().st_size <= 4096


def test_a_corrupt_stream_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(archive.UnsafeArchive, match="not a valid tar"):
        archive.extract(io.BytesIO(b"\x00garbage" * 200), tmp_path, max_bytes=10)


def test_a_stream_cut_short_between_entries_is_refused_not_taken_as_the_whole(tmp_path: Path) -> None:
    """tarfile ends quietly at a missing header: without the end block, part of a workspace is not all."""
    whole = _tar(_file("a", b"1"), _file("b", b"2")).getvalue()
    with tarfile.open(fileobj=io.BytesIO(whole)) as tar:
        second = tar.getmembers()[1]
        cuts = [second.offset, second.offset + 100, second.offset_data + 512]  # the last: where the end is
    for n, cut in enumerate(cuts):
        dest = tmp_path / f"cut{n}"
        dest.mkdir()
        with pytest.raises(archive.UnsafeArchive, match="cut short"):
            archive.extract(io.BytesIO(whole[:cut]), dest, max_bytes=10)
    (tmp_path / "whole").mkdir()
    assert archive.extract(io.BytesIO(whole), tmp_path / "whole", max_bytes=10).files == 2


def test_pack_stores_links_as_links_and_skips_nothing_of_a_workspace(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a").write_text("a")
    (root / "ln").symlink_to("/etc/passwd")
    out = io.BytesIO()
    archive.pack(root, out, uid=1000, gid=1000)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        found = {m.name: m for m in tar.getmembers()}
    assert found["ln"].issym() and found["ln"].linkname == "/etc/passwd"
    assert found["sub/a"].uid == 1000 and found["sub"].isdir()


def test_auto_binds_only_a_local_daemon() -> None:
    assert transfer.choose("auto", {}) == "bind"
    assert transfer.choose("auto", {"DOCKER_HOST": "unix:///run/other.sock"}) == "bind"
    assert transfer.choose("auto", {"DOCKER_HOST": "tcp://10.0.0.5:2376"}) == "archive"
    assert transfer.choose("auto", {"DOCKER_HOST": "ssh://build@host"}) == "archive"
    assert transfer.choose("bind", {"DOCKER_HOST": "tcp://x:1"}) == "bind"


def test_cleanup_and_reset_survive_a_daemon_out_of_reach() -> None:
    """A remote daemon that went away: reset says so as a Docker error, remove logs and returns."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    client = docker.DockerClient(base_url=f"tcp://127.0.0.1:{port}", version="1.41", timeout=5)
    with pytest.raises(DockerException, match="out of reach"):
        container.reset(client, "0" * 64)
    container.remove(client, "0" * 64, "steward-ws-gone")  # no exception: the reaper finds what is left
    client.close()
