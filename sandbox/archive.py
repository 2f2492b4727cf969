"""The workspace as a tar stream, both ways: packed from the host, and unpacked from a container safely.

The container's side of a tar stream is hostile: it names the entries, their kinds and their link targets.
`extract` never follows a path it names: every directory is opened from the root down with O_NOFOLLOW,
every file is created with O_EXCL|O_NOFOLLOW; devices, FIFOs and symlinks out of the root are left out;
absolute paths, `..`, hard links to anything but an earlier file, streams over the size, entry or
depth bounds, and streams cut short (no end-of-archive block) are refused.
"""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sandbox.base import SandboxError

MAX_ENTRIES = 200_000
MAX_DEPTH = 64
CHUNK = 1024 * 1024


class UnsafeArchive(SandboxError):
    """The container's archive tried something the host refuses; the message names the entry."""


class TooLarge(UnsafeArchive):
    """The archive holds more bytes than the bound (the run's disk limit)."""


@dataclass
class Unpacked:
    files: int = 0
    size: int = 0
    skipped: list[str] = field(default_factory=list)
    """Devices, FIFOs and links out of the workspace: never made on the host (named here)."""


def _parts(name: str, strip: str, depth: int) -> list[str]:
    if name.startswith("/"):
        raise UnsafeArchive(f"{name!r}: an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"{name!r}: a path with '..'")
    if strip and parts and parts[0] == strip:
        parts = parts[1:]
    if len(parts) > depth:
        raise UnsafeArchive(f"{name!r}: deeper than {depth} directories")
    if any("\0" in p for p in parts):
        raise UnsafeArchive(f"{name!r}: a NUL in the name")
    return parts


def _inside(parts: list[str], target: str) -> bool:
    """A symlink at `parts` pointing at `target` stays within the root (resolved lexically)."""
    if target.startswith("/"):
        return False
    depth = len(parts) - 1
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return False
        elif part not in ("", "."):
            depth += 1
    return True


class _Tree:
    """Directory fds from a root, each opened without following a link."""

    def __init__(self, root: Path) -> None:
        self.root = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        self.files: dict[tuple[str, ...], int] = {}

    @contextmanager
    def parent(self, parts: list[str], make: bool) -> Iterator[int]:
        fds = [self.root]
        try:
            for part in parts[:-1]:
                if make:
                    with suppress(FileExistsError):
                        os.mkdir(part, 0o755, dir_fd=fds[-1])
                try:
                    fds.append(os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fds[-1]))
                except OSError:
                    raise UnsafeArchive(f"{'/'.join(parts)}: a parent is not a directory (a link?)") from None
            yield fds[-1]
        finally:
            for fd in fds[1:]:
                os.close(fd)

    def close(self) -> None:
        os.close(self.root)


def _write(tree: _Tree, parts: list[str], source: IO[bytes], mode: int, budget: int) -> int:
    with tree.parent(parts, make=True) as dirfd:
        try:
            fd = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=dirfd)
        except FileExistsError:
            raise UnsafeArchive(f"{'/'.join(parts)}: the archive names it twice") from None
        written = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                written += len(chunk)
                if written > budget:
                    raise TooLarge(f"{'/'.join(parts)}: the archive is over its size bound")
                out.write(chunk)
    tree.files[tuple(parts)] = written
    return written


def _copy_of(tree: _Tree, parts: list[str]) -> IO[bytes]:
    with tree.parent(parts, make=False) as dirfd:
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dirfd)
    return os.fdopen(fd, "rb")


class _End:
    """Whether tar's end-of-archive block (all zeros) was read: tarfile takes a stream cut short between two
    entries for a whole archive, which would bring part of the workspace back as all of it."""

    def __init__(self) -> None:
        self.seen = False
        end = self

        class Member(tarfile.TarInfo):
            @classmethod
            def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Member:
                end.seen = end.seen or buf == bytes(tarfile.BLOCKSIZE)
                return super().frombuf(buf, encoding, errors)

        self.member = Member

    def check(self) -> None:
        if not self.seen:
            raise UnsafeArchive("the archive stops before its end (the stream was cut short)")


def extract(
    stream: IO[bytes],
    dest: Path,
    *,
    max_bytes: int,
    max_entries: int = MAX_ENTRIES,
    max_depth: int = MAX_DEPTH,
    strip: str = "",
) -> Unpacked:
    """Unpack a tar stream into the empty directory `dest`; `strip` drops a leading directory name."""
    done = Unpacked()
    tree, end = _Tree(dest), _End()
    try:
        with tarfile.open(fileobj=stream, mode="r|", tarinfo=end.member) as tar:
            for count, member in enumerate(tar, start=1):
                if count > max_entries:
                    raise UnsafeArchive(f"the archive has over {max_entries} entries")
                parts = _parts(member.name, strip, max_depth)
                if not parts:
                    continue  # the root itself
                where = "/".join(parts)
                if member.isdir():
                    with tree.parent([*parts, "."], make=True) as dirfd:
                        os.fchmod(dirfd, 0o755)
                elif member.isfile():
                    source = tar.extractfile(member)
                    assert source is not None
                    done.size += _write(tree, parts, source, _mode(member), max_bytes - done.size)
                    done.files += 1
                elif member.issym():
                    if not _inside(parts, member.linkname):
                        done.skipped.append(f"{where} (a link out of the workspace)")
                        continue
                    with tree.parent(parts, make=True) as dirfd:
                        try:
                            os.symlink(member.linkname, parts[-1], dir_fd=dirfd)
                        except FileExistsError:
                            raise UnsafeArchive(f"{where}: the archive names it twice") from None
                    done.files += 1
                elif member.islnk():
                    target = tuple(_parts(member.linkname, strip, max_depth))
                    if target not in tree.files:
                        raise UnsafeArchive(
                            f"{where}: a hard link to {member.linkname!r}, not a file before it"
                        )
                    with _copy_of(tree, list(target)) as source:
                        done.size += _write(tree, parts, source, _mode(member), max_bytes - done.size)
                    done.files += 1
                else:  # character and block devices, FIFOs: never made on the host
                    done.skipped.append(where)
        end.check()
    except tarfile.TarError as exc:
        raise UnsafeArchive(f"the archive is not a valid tar stream: {exc}") from None
    finally:
        tree.close()
    return done


def _mode(member: tarfile.TarInfo) -> int:
    return 0o755 if member.mode & stat.S_IXUSR else 0o644


def pack(root: Path, out: IO[bytes], *, uid: int, gid: int) -> int:
    """Write root's tree to `out` (links stored as links, never followed), owned by uid:gid; the byte size."""
    total = 0
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for path in _walk(root):
            info = tar.gettarinfo(str(path), arcname=path.relative_to(root).as_posix())
            if not (info.isdir() or info.isfile() or info.issym()):
                continue  # the host's own tree: only what a workspace holds
            info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
            if info.isfile():
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
                total += info.size
            else:
                tar.addfile(info)
    return total


def _walk(root: Path) -> Iterable[Path]:
    for here, dirs, files in os.walk(root, followlinks=False):
        base = Path(here)
        for name in sorted(dirs):
            yield base / name
        for name in sorted(files):
            yield base / name
