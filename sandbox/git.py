"""Host-side git: clone at a commit, diff, commit and push; the token reaches only the git process."""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import anyio
from pydantic import SecretStr

from sandbox import gitproc, quota, workspaces, worktree
from sandbox.base import SandboxError
from sandbox.basemerge import BaseMerge, MergeIn, merge_in
from sandbox.diffcheck import REFUSED, FileChange, PathPolicy, check_diff, listed, size_text
from sandbox.gitmeasure import MEASURE_BUDGET, NEUTRAL_ATTRIBUTES, measure, parse_raw
from sandbox.image import SANDBOX_UID
from sandbox.worktree import Scan, scan_work_tree

log = logging.getLogger(__name__)

# The runner, its safe options and its time limits live in sandbox.gitproc (re-exported for callers).
DEFAULT_PATH = gitproc.DEFAULT_PATH
SAFE_OPTIONS = gitproc.SAFE_OPTIONS
GitError = gitproc.GitError

ARTIFACTS = (
    "__pycache__/", "*.py[cod]", ".pytest_cache/", ".hypothesis/", ".coverage", ".coverage.*", "htmlcov/",
    "*.egg-info/", ".eggs/", "build/", ".mypy_cache/", ".ruff_cache/", ".tox/", ".nox/", ".venv/",
    "node_modules/",
)  # fmt: skip
"""What running tests and installs leaves behind; never part of a proposed change (kept in the git dir's
info/exclude, beside whatever the repository's own .gitignore says)."""


READ_WHOLE = (".gitignore", ".gitattributes")
"""Files in the tree git reads whole while it lists or adds files, whatever their size."""


class DiffRefusedError(SandboxError):
    """The diff broke the path policy; nothing was committed or pushed."""


@dataclass(frozen=True)
class Identity:
    """Who commits: the App's bot account."""

    name: str
    email: str


@dataclass(frozen=True)
class Workspace:
    """The git directory sits beside the work tree, not in it: the sandbox can neither read nor plant it."""

    root: Path
    git_dir: Path
    work_tree: Path
    branch: str
    url: str
    commit: str
    """The commit checked out: the clone's, or the merge commit that brought the default branch in."""
    merged: BaseMerge | None = None
    """A revision's merge of the default branch into its branch (pushed even when nothing else changes)."""


def branch_name(workflow: str, number: int) -> str:
    """Where a run's change goes: `steward/<workflow>/<number>`."""
    return f"steward/{workflow}/{number}"


def _secret(token: SecretStr | str | None) -> str | None:
    return token.get_secret_value() if isinstance(token, SecretStr) else token


def _env(home: Path, token: str | None) -> dict[str, str]:
    return gitproc.git_env(home, token)


async def _git_bytes(ws_root: Path, git_dir: Path, work_tree: Path | None, *args: str,
                     token: str | None = None, env: dict[str, str] | None = None,
                     input: bytes | None = None) -> bytes:  # fmt: skip
    """One git command on this workspace, named git dir and work tree, bounded in time (sandbox.gitproc)."""
    argv = ["git", *SAFE_OPTIONS, f"--git-dir={git_dir}"]
    if work_tree is not None:
        argv.append(f"--work-tree={work_tree}")
    argv += args
    return await gitproc.run_git(
        argv, {**_env(ws_root, token), **(env or {})}, command=args[0], limit=gitproc.timeout_for(args[0]),
        token=token, input=input,
    )  # fmt: skip


async def _git(ws_root: Path, git_dir: Path, work_tree: Path | None, *args: str, token: str | None = None,
               env: dict[str, str] | None = None) -> str:  # fmt: skip
    out = await _git_bytes(ws_root, git_dir, work_tree, *args, token=token, env=env)
    return out.decode(errors="replace")


async def clone(
    url: str,
    commit: str,
    *,
    root: Path,
    branch: str,
    token: SecretStr | str | None = None,
    ref: str | None = None,
    disk: int | None = None,
    merge: MergeIn | None = None,
) -> Workspace:
    """Fetch `commit` (shallow; else all of `ref`) into root/git, check it out into root/work on `branch`.

    With `merge` (a revision), the history is fetched whole and the default branch commit it names is merged
    into `commit` in the git directory first (sandbox.basemerge), so the merge commit is what is checked out.

    With `disk`, root/work is a filesystem of that size (where the host can mount one): the quota holds the
    checkout and whatever the sandbox writes. Otherwise root/work links to a neutral directory, which is the
    Workspace's work_tree (sandbox/neutral.py): either way the sandbox learns no host path.
    """
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise GitError("the remote URL must not carry credentials; pass the token separately")
    secret = _secret(token)
    git_dir = root / "git"
    os.makedirs(root, exist_ok=True)
    os.chmod(root, 0o700)
    workspaces.claim(root)
    work_tree = await anyio.to_thread.run_sync(workspaces.make_work_tree, root, disk)
    await _git(root, git_dir, None, "init", "--bare", "-q", str(git_dir))
    await _git(root, git_dir, None, "config", "core.bare", "false")
    await _git(root, git_dir, None, "remote", "add", "origin", url)
    (git_dir / "info").mkdir(exist_ok=True)
    (git_dir / "info" / "exclude").write_text("\n".join(ARTIFACTS) + "\n")
    depth = ("--depth=1",) if merge is None else ()  # a merge needs the histories down to their base
    try:
        await _git(root, git_dir, None, "fetch", "-q", *depth, "--no-tags", "origin", commit, token=secret)
    except GitError:
        if ref is None:
            raise
        log.info("the remote refused a fetch by commit; fetching %s instead", ref)
        await _git(root, git_dir, None, "fetch", "-q", "--no-tags", "origin", ref, token=secret)
    merged = await merge_in(root, git_dir, commit, merge, secret) if merge is not None else None
    checked_out = merged.commit if merged is not None else commit
    try:
        await _git(root, git_dir, work_tree, "checkout", "-q", "-b", branch, checked_out)
    finally:  # git can exit 0 having cut a large file short at ENOSPC: a full quota is a failed checkout
        if disk is not None and quota.mounted(work_tree) and quota.full(work_tree):
            raise GitError(quota.checkout_too_big(disk)) from None
    give_to_sandbox(work_tree)
    log.info("cloned %s at %s onto %s", url, checked_out[:12], branch)
    return Workspace(
        root=root, git_dir=git_dir, work_tree=work_tree, branch=branch, url=url, commit=checked_out,
        merged=merged,
    )  # fmt: skip


def give_to_sandbox(work_tree: Path) -> None:
    """The sandbox user (uid 1000) must own the work tree; without root, make it writable to all instead."""
    can_chown = os.geteuid() == 0
    for path in [work_tree, *work_tree.rglob("*")]:
        if can_chown:
            os.lchown(path, SANDBOX_UID, SANDBOX_UID)
        elif not path.is_symlink():
            mode = path.stat().st_mode | 0o666 | (0o111 if path.is_dir() else 0)
            os.chmod(path, mode)  # a private run directory; the sandbox user must write it


async def _tracked(ws: Workspace) -> tuple[set[str], dict[str, int]]:
    """The symbolic links the checked-out commit holds, and its files' sizes (read from the git directory)."""
    out = await _git_bytes(ws.root, ws.git_dir, None, "ls-tree", "-r", "-z", "-l", "--full-tree", "HEAD")
    links, sizes = set(), {}
    for record in filter(None, out.split(b"\0")):
        meta, raw_path = record.split(b"\t", 1)
        mode, _type, _sha, size = meta.split()
        path = raw_path.decode(errors="surrogateescape")
        if mode == b"120000":
            links.add(path)
        elif size.isdigit():  # a gitlink has no size
            sizes[path] = int(size)
    return links, sizes


def scan_refusal(scan: Scan, max_file_bytes: int = MEASURE_BUDGET) -> str:
    """Why the work tree is refused before git may look at it."""
    parts = [REFUSED]
    if scan.too_many:
        parts.append(
            f"The work tree holds more than {worktree.MAX_ENTRIES:,} files and directories; git was not run."
        )
    if scan.repositories:
        parts.append(f"It holds .git entries (nested repositories), which host git must never read: "
                     f"{listed(scan.repositories)}.")  # fmt: skip
    if scan.links:
        parts.append(f"It holds symbolic links, which Steward never commits: {listed(scan.links)}.")
    if scan.special:
        parts.append(f"It holds special files (devices, pipes, sockets): {listed(scan.special)}.")
    if scan.changed:
        parts.append(f"It changed while Steward walked it (a process of the sandbox still running?): "
                     f"{listed(scan.changed)}.")  # fmt: skip
    if scan.too_deep:
        parts.append(f"It nests directories too deep: {listed(scan.too_deep)}.")
    if scan.large:
        large = [f"{path} ({size_text(size)})" for path, size in scan.large]
        parts.append(f"Files above the limit of {size_text(max_file_bytes)} per file: {listed(large)}; "
                     f"git was not run.")  # fmt: skip
    return " ".join(parts)


async def _hashed(
    ws: Workspace, large: list[tuple[str, int]], tracked: dict[str, int]
) -> list[tuple[str, int]]:
    """Those of `large` that `git add -A` would read: tracked, or untracked and not ignored, as .venv/ is."""
    if any(posixpath.basename(path) in READ_WHOLE for path, _ in large):
        return large  # ls-files would read it too: refuse them all, unasked
    # ls-files lists names, never reading a file.
    out = await _git_bytes(
        ws.root, ws.git_dir, ws.work_tree, "ls-files", "-z", "--others", "--exclude-standard"
    )
    added = set(out.decode(errors="surrogateescape").split("\0")) | set(tracked)
    return [(path, size) for path, size in large if path in added]


async def changes(ws: Workspace, max_file_bytes: int = MEASURE_BUDGET) -> list[FileChange]:
    """Everything the sandbox changed, new files included (renames count as delete plus add), measured
    from the blobs; the work tree is walked first, so git never reads a link or a .git entry it holds, nor
    hashes a file above `max_file_bytes` (the policy's limit: a sparse file is huge at no cost in disk)."""
    links, sizes = await _tracked(ws)
    walk = functools.partial(
        scan_work_tree, str(ws.work_tree), links, worktree.MAX_ENTRIES, max_file_bytes, sizes
    )
    scan = await anyio.to_thread.run_sync(walk)
    if not dataclasses.replace(scan, large=[]).ok:  # git may not even list the tree
        raise DiffRefusedError(scan_refusal(scan, max_file_bytes))
    if scan.large:
        scan.large = await _hashed(ws, scan.large, sizes)
        if scan.large:
            raise DiffRefusedError(scan_refusal(scan, max_file_bytes))
    (ws.git_dir / "info").mkdir(exist_ok=True)
    (ws.git_dir / "info" / "attributes").write_text(NEUTRAL_ATTRIBUTES)  # see sandbox.gitmeasure
    await _git(ws.root, ws.git_dir, ws.work_tree, "add", "-A")
    raw = await _git_bytes(
        ws.root, ws.git_dir, ws.work_tree, "diff", "--cached", "--raw", "-z", "--no-renames", "--abbrev=40"
    )

    async def git(*args: str, input: bytes | None = None) -> bytes:
        return await _git_bytes(ws.root, ws.git_dir, ws.work_tree, *args, input=input)

    return await measure(parse_raw(raw), git)


async def commit_and_push(
    ws: Workspace,
    *,
    policy: PathPolicy,
    run_id: str,
    message: str,
    identity: Identity,
    token: SecretStr | str | None = None,
    date: str | None = None,
    found: list[FileChange] | None = None,
    push: bool = True,
) -> str | None:
    """Check the whole diff, then commit with a `Steward-Run` trailer and push; None when nothing changed.

    A workspace with a merge of the default branch pushes it even when nothing else changed (its head).
    The push is a plain one: the remote takes it only as a fast-forward of the branch.
    `push` False (a shadow run) keeps the commit in the workspace: nothing leaves the host.

    A fixed `date` (author and committer) makes a repeated run produce the same commit: its push is a no-op.
    `found`: what changes(ws) just returned, if the caller has it (the tree is walked and measured once).
    """
    if found is None:
        found = await changes(ws, policy.max_file_bytes)
    if not found:
        if ws.merged is None:
            return None
        return await _push(ws, ws.merged.commit, token) if push else ws.merged.commit
    verdict = check_diff(found, policy)
    if not verdict.ok:
        raise DiffRefusedError(verdict.message(policy))
    who = {
        "GIT_AUTHOR_NAME": identity.name,
        "GIT_AUTHOR_EMAIL": identity.email,
        "GIT_COMMITTER_NAME": identity.name,
        "GIT_COMMITTER_EMAIL": identity.email,
    }
    if date is not None:
        who |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    body = f"{message.rstrip()}\n\nSteward-Run: {run_id}\n"
    await _git(ws.root, ws.git_dir, ws.work_tree, "commit", "-q", "--no-verify", "-m", body, env=who)
    sha = (await _git(ws.root, ws.git_dir, None, "rev-parse", "HEAD")).strip()
    if not push:
        log.info("committed %s on %s, not pushed (shadow)", sha[:12], ws.branch)
        return sha
    return await _push(ws, sha, token)


async def _push(ws: Workspace, sha: str, token: SecretStr | str | None) -> str:
    await _git(ws.root, ws.git_dir, None, "push", "-q", "origin", f"{sha}:refs/heads/{ws.branch}",
               token=_secret(token))  # fmt: skip
    log.info("pushed %s to %s", sha[:12], ws.branch)
    return sha


async def patch(ws: Workspace, commit: str) -> str:
    """The diff from the clone's commit to `commit`, as a reviewer reads it (for the ledger only)."""
    args = ("diff", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", ws.commit, commit)
    return await _git(ws.root, ws.git_dir, None, *args)


def remove(ws: Workspace | Path) -> None:
    """Delete the workspace (git directory and work tree, unmounted first) whatever the sandbox left in it."""
    workspaces.discard(ws.root if isinstance(ws, Workspace) else ws)


async def release(ws: Workspace | Path) -> None:
    """`remove` off the event loop (an unmount flushes the quota), finished even when cancelled."""
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(remove, ws)


def host_git(git_dir: Path, work_tree: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    """The argv and clean environment of a host git call that names its repository (never discovers one)."""
    argv = ["git", *SAFE_OPTIONS, f"--git-dir={git_dir}", f"--work-tree={work_tree}", *args]
    return argv, _env(git_dir.parent, None) | {"GIT_CEILING_DIRECTORIES": str(work_tree.parent)}
