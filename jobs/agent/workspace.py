"""The workspace as the tools touch it: paths checked first, then only sandbox.hostfs, never a link."""

from __future__ import annotations

import anyio

from jobs.agent.context import ToolContext
from jobs.agent.errors import Refused, ToolError
from policies.globs import any_match
from policies.loader import MAX_PATH_CHARS, path_allowed
from sandbox import hostfs
from sandbox.diffcheck import listed, size_text
from sandbox.hostfs import TooLarge, UnsafePath
from sandbox.tracked import tracked_files

READ_LIMIT = hostfs.DEFAULT_MAX_BYTES
"""Larger files are not read at all."""


def repo_path(path: str) -> str:
    """A path inside the workspace, as given; refuses absolute paths, `..`, NUL, and anything in .git."""
    if len(path) > MAX_PATH_CHARS:
        raise Refused(f"the path is longer than {MAX_PATH_CHARS} characters")
    try:
        parts = hostfs.parts_of(path)
    except UnsafePath as exc:
        raise Refused(f"{exc}; give a path relative to the repository root") from None
    if any(part.lower() == ".git" for part in parts):
        raise Refused(f"{path}: git's own files are not part of the workspace")
    return path


async def read(ctx: ToolContext, path: str) -> bytes:
    """A regular file's bytes; Refused for a link or a non-file, ToolError when absent or too large."""
    path = repo_path(path)
    try:
        return await anyio.to_thread.run_sync(hostfs.read_bytes, ctx.workspace, path, READ_LIMIT)
    except TooLarge:
        raise ToolError(f"{path} is larger than {size_text(READ_LIMIT)}; read it with run_command") from None
    except UnsafePath as exc:
        raise Refused(str(exc)) from None
    except FileNotFoundError:
        raise ToolError(f"{path}: no such file") from None
    except OSError as exc:
        raise ToolError(f"{path}: {exc.strerror or exc}") from None


def check_write(ctx: ToolContext, path: str, size: int) -> str:
    """The path, if the policy lets the run write that many bytes there now; Refused otherwise."""
    path = repo_path(path)
    policy = ctx.policy
    if not path_allowed(policy, path):
        if any_match(policy.denied, path, ignore_case=True):
            raise Refused(f"{path} is a path this workflow may never change")
        allowed = listed(list(policy.writable)) or "nothing"
        raise Refused(f"{path} is outside the paths this run may write ({allowed})")
    if size > policy.max_file_bytes:
        raise Refused(f"{size_text(size)} is above the limit of {size_text(policy.max_file_bytes)} per file")
    if policy.max_files and path not in ctx.written and len(ctx.written) >= policy.max_files:
        raise Refused(f"this run already wrote {len(ctx.written)} files, the most one change may touch")
    return path


async def write(ctx: ToolContext, path: str, data: bytes) -> str:
    """Replace a file atomically, checked against the policy first (the one way tools write)."""
    path = check_write(ctx, path, len(data))
    try:
        await anyio.to_thread.run_sync(hostfs.write_bytes, ctx.workspace, path, data)
    except UnsafePath as exc:
        raise Refused(str(exc)) from None
    except OSError as exc:
        raise ToolError(f"{path}: {exc.strerror or exc}") from None
    ctx.written.add(path)
    return path


async def files(ctx: ToolContext, limit: int) -> list[str]:
    """The workspace's files: git's index and the new files git would add (names only, no link read)."""
    try:
        return await anyio.to_thread.run_sync(
            lambda: tracked_files(ctx.workspace, ctx.git_dir, limit, untracked=True)
        )
    except (UnsafePath, OSError) as exc:
        raise ToolError(f"the files could not be listed: {exc}") from None
