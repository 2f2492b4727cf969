"""A revision brings its default branch's newer commits into the pull request's branch as one merge commit,
never a rebase: the merge is made in the host's own git directory (`git merge-tree`, which reads and writes
no work tree) before anything is checked out, so no path the sandbox controls is ever followed, and the
commits people pushed to the branch stay as they are under it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sandbox import gitproc
from sandbox.gitproc import GitError

MAX_LISTED = 20
"""Conflicting files named in the reason; the rest are counted."""
_YES_NO = frozenset({0, 1})


@dataclass(frozen=True)
class MergeIn:
    """The default branch commit a revision brings in, and who makes the merge commit (and when)."""

    sha: str
    ref: str
    name: str
    email: str
    message: str
    date: str | None = None
    """A fixed author and committer date: a resumed run makes the same merge commit."""


@dataclass(frozen=True)
class BaseMerge:
    """What merge_in made: the branch head it merged into, where the branch had left the default branch,
    the default branch commit it brought in, and the merge commit (parents: head, then base)."""

    head: str
    since: str
    base: str
    commit: str


class BaseConflict(GitError):
    """The default branch's newer commits conflict with the branch: nothing was merged."""

    def __init__(self, ref: str, since: str, base: str, files: list[str]) -> None:
        self.ref, self.since, self.base, self.files = ref, since, base, files
        shown = ", ".join(files[:MAX_LISTED]) + (
            f" and {len(files) - MAX_LISTED} more" if len(files) > MAX_LISTED else ""
        )
        super().__init__(
            f"the default branch {ref} moved from {since[:12]} to {base[:12]}, and merging it into the "
            f"pull request's branch conflicts in {len(files)} file(s): {shown}"
        )


async def _git(
    root: Path,
    git_dir: Path,
    *args: str,
    token: str | None = None,
    env: dict[str, str] | None = None,
    answers: frozenset[int] = frozenset({0}),
) -> tuple[int, bytes]:
    argv = ["git", *gitproc.SAFE_OPTIONS, f"--git-dir={git_dir}", *args]
    return await gitproc.run_git_status(
        argv, {**gitproc.git_env(root, token), **(env or {})}, command=args[0],
        limit=gitproc.timeout_for(args[0]), token=token, answers=answers,
    )  # fmt: skip


async def _fetch(root: Path, git_dir: Path, want: MergeIn, token: str | None) -> None:
    """The base commit with its history (by commit; else all of its branch, which must then hold it)."""
    try:
        await _git(root, git_dir, "fetch", "-q", "--no-tags", "origin", want.sha, token=token)
    except GitError:
        await _git(root, git_dir, "fetch", "-q", "--no-tags", "origin", want.ref, token=token)
        code, _ = await _git(root, git_dir, "cat-file", "-e", f"{want.sha}^{{commit}}", answers=_YES_NO)
        if code != 0:
            raise GitError(f"the default branch {want.ref} no longer holds {want.sha[:12]}") from None


async def merge_in(
    root: Path, git_dir: Path, head: str, want: MergeIn, token: str | None = None
) -> BaseMerge | None:
    """Merge `want.sha` into `head` as a new commit in the git directory only; None when the branch already
    holds it. BaseConflict when the two conflict (nothing is made, nothing is checked out)."""
    await _fetch(root, git_dir, want, token)
    held, _ = await _git(root, git_dir, "merge-base", "--is-ancestor", want.sha, head, answers=_YES_NO)
    if held == 0:
        return None
    found, out = await _git(root, git_dir, "merge-base", head, want.sha, answers=_YES_NO)
    if found != 0:
        raise GitError(f"the pull request's branch shares no history with {want.ref}; nothing was merged")
    since = out.decode().strip()
    code, out = await _git(
        root, git_dir, "merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", head, want.sha,
        answers=_YES_NO,
    )  # fmt: skip
    tree, *rest = out.split(b"\0")
    if code == 1:
        files = sorted({name.decode(errors="replace") for name in rest if name})
        raise BaseConflict(want.ref, since, want.sha, files)
    who = {
        "GIT_AUTHOR_NAME": want.name,
        "GIT_AUTHOR_EMAIL": want.email,
        "GIT_COMMITTER_NAME": want.name,
        "GIT_COMMITTER_EMAIL": want.email,
    }
    if want.date is not None:
        who |= {"GIT_AUTHOR_DATE": want.date, "GIT_COMMITTER_DATE": want.date}
    tree_id = tree.decode().strip()
    _, out = await _git(
        root, git_dir, "commit-tree", tree_id, "-p", head, "-p", want.sha, "-m", want.message, env=who
    )
    return BaseMerge(head=head, since=since, base=want.sha, commit=out.decode().strip())
