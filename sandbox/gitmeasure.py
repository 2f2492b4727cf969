"""Measure a staged diff from its blobs alone: bytes, binary or text, changed lines.

Repository attributes never change the measure. What was checked, with git 2.39 and an empty host config:
- `$GIT_DIR/info/attributes` outranks every `.gitattributes` in the tree, so NEUTRAL_ATTRIBUTES there unsets
  each attribute that steers the diff (`diff`, and the `binary` macro through it) or rewrites content on
  `git add` (`filter`, `text`, `eol`, `crlf`, `ident`, `working-tree-encoding`), macros included (checked with
  `git check-attr -a`). The git directory sits outside the work tree, so the sandbox cannot write it.
- `--numstat` ignores `--text` (git counts a `-diff` file as binary whatever the flag), so lines are counted
  with the attributes unset, and whether a file is binary is our own look at its blob (a NUL in the first 8000
  bytes, git's heuristic). Should git still call a text blob binary, its lines are counted from the blobs.
- Filter and textconv drivers are defined only in git config, which the sandbox cannot reach (system and
  global config are off, the repository config is the host's); `--no-textconv --no-ext-diff` besides.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sandbox.diffcheck import FileChange

FIRST_FEW_BYTES = 8000
"""git's own binary heuristic (xdiff-interface.c): a NUL in the first 8000 bytes."""
MEASURE_BUDGET = 64 * 1024**2
"""Most blob bytes read to measure one diff; a policy's max_bytes can never be above it."""
NEUTRAL_ATTRIBUTES = "* !diff !merge !text !eol !crlf !filter !ident !working-tree-encoding\n"
"""Written to the host-side $GIT_DIR/info/attributes: every in-tree setting of these is overridden."""
NULL_SHA = "0" * 40
REGULAR_MODES = ("100644", "100755")

Git = Callable[..., Awaitable[bytes]]
"""`await git("cat-file", "--batch", input=b"...")`: one bounded git command, its stdout."""


@dataclass(frozen=True)
class RawChange:
    """One record of `git diff --raw`: both sides' modes and blobs, and the path."""

    old_mode: str
    new_mode: str
    old_sha: str
    new_sha: str
    path: str

    @property
    def new_blob(self) -> str | None:
        return self.new_sha if self.new_sha != NULL_SHA and self.new_mode in REGULAR_MODES else None

    @property
    def old_blob(self) -> str | None:
        return self.old_sha if self.old_sha != NULL_SHA and self.old_mode in REGULAR_MODES else None


def parse_raw(out: bytes) -> list[RawChange]:
    """`git diff --raw -z --abbrev=40 --no-renames`: `:old new oldsha newsha status NUL path NUL`."""
    fields = out.split(b"\0")
    found = []
    for head, path in zip(fields[0::2], fields[1::2], strict=False):
        if not head.startswith(b":"):
            continue
        old_mode, new_mode, old_sha, new_sha, _status = head[1:].decode().split(" ")
        found.append(RawChange(old_mode, new_mode, old_sha, new_sha, path.decode(errors="surrogateescape")))
    return found


def parse_sizes(out: bytes) -> dict[str, int]:
    """`git cat-file --batch-check`: `<sha> blob <size>` per line (missing objects are left out)."""
    sizes = {}
    for line in out.decode().splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[1] == "blob":
            sizes[parts[0]] = int(parts[2])
    return sizes


@dataclass(frozen=True)
class Probe:
    """What one blob is: binary (git's heuristic) and how many lines it holds."""

    binary: bool
    lines: int


def parse_probes(out: bytes) -> dict[str, Probe]:
    """`git cat-file --batch`: per blob, whether a NUL sits in its first FIRST_FEW_BYTES, and its lines."""
    probes: dict[str, Probe] = {}
    at = 0
    while at < len(out):
        end = out.index(b"\n", at)
        parts = out[at:end].decode().split(" ")
        at = end + 1
        if len(parts) != 3:  # `<sha> missing`
            continue
        size = int(parts[2])
        content = out[at : at + size]
        lines = content.count(b"\n") + (1 if content and not content.endswith(b"\n") else 0)
        probes[parts[0]] = Probe(b"\0" in content[:FIRST_FEW_BYTES], lines)
        at += size + 1
    return probes


def parse_numstat(out: bytes) -> dict[str, tuple[int, int]]:
    """`git diff --numstat -z --no-renames`: added and removed lines per path (git's binary ones left out)."""
    lines = {}
    for record in filter(None, out.split(b"\0")):
        added, removed, path = record.split(b"\t", 2)
        if added != b"-":
            lines[path.decode(errors="surrogateescape")] = (int(added), int(removed))
    return lines


def _batch(shas: list[str]) -> bytes:
    return "".join(f"{sha}\n" for sha in shas).encode()


def _text_lines(probe: Probe | None) -> int:
    return probe.lines if probe and not probe.binary else 0


def _lines(
    c: RawChange, numstat: dict[str, tuple[int, int]], new: Probe | None, old: Probe | None
) -> tuple[int, int]:
    binary = any(side.binary for side in (new, old) if side)
    if c.path in numstat and not binary:
        return numstat[c.path]
    # A binary side counts by bytes, and a text side still counts whole: its lines added (new side) or removed
    # (old side). One NUL must not hide a text file's lines. Also the upper bound when git calls text binary.
    return (_text_lines(new), _text_lines(old))


async def measure(raw: list[RawChange], git: Git) -> list[FileChange]:
    """Each change with its new blob's bytes, and the lines of each side that is text."""
    new = sorted({c.new_blob for c in raw if c.new_blob})
    old = sorted({c.old_blob for c in raw if c.old_blob} - set(new))
    sizes = parse_sizes(await git("cat-file", "--batch-check", input=_batch(new + old))) if raw else {}
    written = sum(sizes.get(c.new_sha, 0) for c in raw if c.new_blob)
    if written > MEASURE_BUDGET:  # refused by size whatever the lines: do not read it
        return [FileChange(c.path, 0, 0, False, sizes.get(c.new_sha, 0), c.new_mode) for c in raw]
    budget = MEASURE_BUDGET - written
    readable = [sha for sha in old if sizes.get(sha, 0) <= budget]  # larger old blobs count as binary
    probe = new + readable
    probes = parse_probes(await git("cat-file", "--batch", input=_batch(probe))) if probe else {}
    probes |= {sha: Probe(True, 0) for sha in old if sha not in probes}
    args = ("diff", "--cached", "--numstat", "-z", "--no-renames", "--text", "--no-textconv", "--no-ext-diff")
    numstat = parse_numstat(await git(*args))
    result = []
    for c in raw:
        after, before = probes.get(c.new_blob or ""), probes.get(c.old_blob or "")
        added, removed = _lines(c, numstat, after, before)
        binary = bool(after and after.binary)
        hidden = binary and bool(before and not before.binary)
        size = sizes.get(c.new_sha, 0)
        result.append(FileChange(c.path, added, removed, binary, size, c.new_mode, text_to_binary=hidden))
    return result
