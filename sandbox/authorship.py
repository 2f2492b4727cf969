"""Which files on a pull request's branch Steward added, and who touched them since, read from the host's own
git directory (commits and trees, never the work tree the sandbox controls): a revision regenerates only the
files that are still Steward's alone, and leaves a file a person has edited as it is."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from sandbox import gitproc
from sandbox.git import Identity
from sandbox.gitproc import GitError

MAX_COMMITS = 250
"""A branch with more commits than this is not read: nothing on it counts as Steward's own."""
_TRAILER = re.compile(r"^r-[0-9a-z-]{1,40}$")
_SHA = re.compile(r"^@([0-9a-f]{40,64})$")
_REGULAR = frozenset({"100644", "100755"})


@dataclass(frozen=True)
class Author:
    """A commit's author and committer as git records them, and its `Steward-Run` trailer (empty: none)."""

    sha: str
    name: str
    email: str
    committer: str
    committer_email: str
    run: str

    def by(self, identity: Identity) -> bool:
        """Made by Steward: its bot authored and committed it, and its message names the run."""
        who = (self.name, self.email)
        ours = (identity.name, identity.email)
        return who == ours and (self.committer, self.committer_email) == ours and bool(self.run)


@dataclass
class AddedFile:
    """A file Steward's commits added on the branch, and the commits by anyone else that touched it since."""

    path: str
    edits: list[Author] = field(default_factory=list)
    mode: str = ""


async def _git(root: Path, git_dir: Path, *args: str) -> bytes:
    argv = ["git", *gitproc.SAFE_OPTIONS, f"--git-dir={git_dir}", *args]
    return await gitproc.run_git(
        argv, gitproc.git_env(root, None), command=args[0], limit=gitproc.timeout_for(args[0])
    )


def _author(line: str) -> Author | None:
    parts = line.split("\0")
    if len(parts) != 6:
        return None
    sha, name, email, committer, committer_email, trailers = parts
    runs = trailers.split()
    run = runs[-1] if runs and all(_TRAILER.match(value) for value in runs) else ""
    return Author(sha, name, email, committer, committer_email, run)


def _changes(raw: bytes) -> list[tuple[str, str, str, str]]:
    """(commit, status, new mode, path) per file of each commit, oldest first; a merge lists only what it
    changed against every parent (its own resolution), not what it brought in."""
    found: list[tuple[str, str, str, str]] = []
    tokens = raw.decode(errors="surrogateescape").split("\0")
    commit, i = "", 0
    while i < len(tokens):
        token = tokens[i].lstrip("\n")
        i += 1
        if token.startswith(":"):
            fields = token.lstrip(":").split()
            parents = len(token) - len(token.lstrip(":"))
            if i < len(tokens) and commit and len(fields) == 2 * (parents + 1) + 1:
                found.append((commit, fields[-1], fields[parents], tokens[i]))
            i += 1
        elif (match := _SHA.match(token)) is not None:
            commit = match.group(1)
    return found


async def steward_added(
    root: Path, git_dir: Path, base: str, head: str, identity: Identity
) -> list[AddedFile]:
    """The regular files Steward's own commits added in `base..head` that are still there at `head`, each
    with the commits by anyone else that touched it since (empty: the file is still Steward's own)."""
    out = await _git(
        root, git_dir, "log", f"--max-count={MAX_COMMITS + 1}",
        "--format=%H%x00%an%x00%ae%x00%cn%x00%ce%x00%(trailers:key=Steward-Run,valueonly,separator=%x20)",
        f"{base}..{head}",
    )  # fmt: skip
    lines = [line for line in out.decode(errors="replace").split("\n") if line]
    if len(lines) > MAX_COMMITS:
        return []
    authors = {author.sha: author for author in map(_author, lines) if author is not None}
    raw = await _git(
        root, git_dir, "log", "-z", "--format=@%H", "-c", "--raw", "--no-renames", "--no-abbrev",
        "--topo-order", "--reverse", f"{base}..{head}",
    )  # fmt: skip
    seen: set[str] = set()
    added: dict[str, AddedFile] = {}
    for sha, status, mode, path in _changes(raw):
        author = authors.get(sha)
        ours = author is not None and author.by(identity)
        if path not in seen:
            seen.add(path)
            if ours and status == "A":
                added[path] = AddedFile(path, mode=mode)
            continue
        if path not in added:
            continue
        added[path].mode = mode
        if not ours:
            added[path].edits.append(author or Author(sha, "", "", "", "", ""))
    return [file for file in added.values() if file.mode in _REGULAR]


async def steward_added_or_none(
    root: Path, git_dir: Path, base: str, head: str, identity: Identity
) -> list[AddedFile]:
    """steward_added, or nothing when git cannot tell (a base missing from the clone): no file then counts
    as Steward's own, so none is rewritten."""
    try:
        return await steward_added(root, git_dir, base, head, identity)
    except GitError:
        return []
