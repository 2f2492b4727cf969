"""Host-side git: clone at a commit, diff, commit and push; the token reaches only the git process."""

from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import anyio
from pydantic import SecretStr

from sandbox import quota, workspaces
from sandbox.base import SandboxError
from sandbox.diffcheck import FileChange, PathPolicy, check_diff
from sandbox.image import SANDBOX_UID

log = logging.getLogger(__name__)

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
# Never run hooks, fsmonitor or a pager from a work tree the sandbox has written to.
SAFE_OPTIONS = (
    "-c", "safe.directory=*", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
    "-c", "commit.gpgsign=false", "-c", "core.pager=cat", "-c", "protocol.ext.allow=never",
)  # fmt: skip


ARTIFACTS = (
    "__pycache__/", "*.py[cod]", ".pytest_cache/", ".hypothesis/", ".coverage", ".coverage.*", "htmlcov/",
    "*.egg-info/", ".eggs/", "build/", ".mypy_cache/", ".ruff_cache/", ".tox/", ".nox/", ".venv/",
    "node_modules/",
)  # fmt: skip
"""What running tests and installs leaves behind; never part of a proposed change (kept in the git dir's
info/exclude, beside whatever the repository's own .gitignore says)."""


class GitError(SandboxError):
    """A git command failed; the message never holds the token."""


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


def branch_name(workflow: str, number: int) -> str:
    """Where a run's change goes: `steward/<workflow>/<number>`."""
    return f"steward/{workflow}/{number}"


def _secret(token: SecretStr | str | None) -> str | None:
    return token.get_secret_value() if isinstance(token, SecretStr) else token


def _env(home: Path, token: str | None) -> dict[str, str]:
    """No host environment; the token travels as an http.extraHeader set through the environment."""
    env = {
        "PATH": os.environ.get("PATH", DEFAULT_PATH),
        "HOME": str(home),
        "LANG": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
    }
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }
    return env


async def _git(ws_root: Path, git_dir: Path, work_tree: Path | None, *args: str, token: str | None = None,
               env: dict[str, str] | None = None) -> str:  # fmt: skip
    argv = ["git", *SAFE_OPTIONS, f"--git-dir={git_dir}"]
    if work_tree is not None:
        argv.append(f"--work-tree={work_tree}")
    argv += args
    result = await anyio.run_process(argv, env={**_env(ws_root, token), **(env or {})}, check=False)
    if result.returncode != 0:
        err = result.stderr.decode(errors="replace").strip()
        if token:
            err = err.replace(token, "***")
        raise GitError(f"git {args[0]} failed ({result.returncode}): {err[-2000:]}")
    return result.stdout.decode(errors="replace")


async def clone(
    url: str,
    commit: str,
    *,
    root: Path,
    branch: str,
    token: SecretStr | str | None = None,
    ref: str | None = None,
    disk: int | None = None,
) -> Workspace:
    """Fetch `commit` (shallow; else all of `ref`) into root/git, check it out into root/work on `branch`.

    With `disk`, root/work is a filesystem of that size (where the host can mount one): the quota holds the
    checkout and whatever the sandbox writes.
    """
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise GitError("the remote URL must not carry credentials; pass the token separately")
    secret = _secret(token)
    git_dir, work_tree = root / "git", root / "work"
    work_tree.mkdir(parents=True)
    os.chmod(root, 0o700)
    workspaces.claim(root)
    if disk is not None:
        await anyio.to_thread.run_sync(quota.mount, work_tree, disk)
    await _git(root, git_dir, None, "init", "--bare", "-q", str(git_dir))
    await _git(root, git_dir, None, "config", "core.bare", "false")
    await _git(root, git_dir, None, "remote", "add", "origin", url)
    (git_dir / "info").mkdir(exist_ok=True)
    (git_dir / "info" / "exclude").write_text("\n".join(ARTIFACTS) + "\n")
    try:
        shallow = ("fetch", "-q", "--depth=1", "--no-tags", "origin", commit)
        await _git(root, git_dir, None, *shallow, token=secret)
    except GitError:
        if ref is None:
            raise
        log.info("the remote refused a fetch by commit; fetching %s instead", ref)
        await _git(root, git_dir, None, "fetch", "-q", "--no-tags", "origin", ref, token=secret)
    try:
        await _git(root, git_dir, work_tree, "checkout", "-q", "-b", branch, commit)
    finally:  # git can exit 0 having cut a large file short at ENOSPC: a full quota is a failed checkout
        if disk is not None and quota.mounted(work_tree) and quota.full(work_tree):
            raise GitError(quota.checkout_too_big(disk)) from None
    give_to_sandbox(work_tree)
    log.info("cloned %s at %s onto %s", url, commit[:12], branch)
    return Workspace(root=root, git_dir=git_dir, work_tree=work_tree, branch=branch, url=url, commit=commit)


def give_to_sandbox(work_tree: Path) -> None:
    """The sandbox user (uid 1000) must own the work tree; without root, make it writable to all instead."""
    can_chown = os.geteuid() == 0
    for path in [work_tree, *work_tree.rglob("*")]:
        if can_chown:
            os.lchown(path, SANDBOX_UID, SANDBOX_UID)
        elif not path.is_symlink():
            mode = path.stat().st_mode | 0o666 | (0o111 if path.is_dir() else 0)
            os.chmod(path, mode)  # a private run directory; the sandbox user must write it


async def changes(ws: Workspace) -> list[FileChange]:
    """Everything the sandbox changed, new files included (renames count as delete plus add)."""
    await _git(ws.root, ws.git_dir, ws.work_tree, "add", "-A")
    out = await _git(ws.root, ws.git_dir, ws.work_tree, "diff", "--cached", "--numstat", "-z", "--no-renames")
    result = []
    for record in filter(None, out.split("\0")):
        added, removed, path = record.split("\t", 2)
        binary = added == "-"
        result.append(FileChange(path, 0 if binary else int(added), 0 if binary else int(removed), binary))
    return result


async def commit_and_push(
    ws: Workspace,
    *,
    policy: PathPolicy,
    run_id: str,
    message: str,
    identity: Identity,
    token: SecretStr | str | None = None,
    date: str | None = None,
) -> str | None:
    """Check the whole diff, then commit with a `Steward-Run` trailer and push; None when nothing changed.

    A fixed `date` (author and committer) makes a repeated run produce the same commit: its push is a no-op.
    """
    found = await changes(ws)
    if not found:
        return None
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
    target = f"HEAD:refs/heads/{ws.branch}"
    await _git(ws.root, ws.git_dir, None, "push", "-q", "origin", target, token=_secret(token))
    log.info("pushed %s to %s", sha[:12], ws.branch)
    return sha


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
