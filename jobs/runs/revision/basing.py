"""A revision on the current base: the merge of the default branch it asks of the clone, what the plan says
of it, and what the run tells when the two conflict."""

from __future__ import annotations

from app.github.untrusted import code_span
from jobs.runs.revision.model import BaseMove
from sandbox.basemerge import MAX_LISTED, BaseConflict, BaseMerge, MergeIn
from sandbox.git import Identity


def merge_wanted(
    run_id: str, sha: str, ref: str, branch: str, identity: Identity, date: str | None = None
) -> MergeIn:
    """The default branch's commit `sha` merged into the branch by Steward (its trailer says so)."""
    text = f"Merge {ref} ({sha[:12]}) into {branch}\n\nSteward-Run: {run_id}\n"
    who = {"name": identity.name, "email": identity.email}
    return MergeIn(sha=sha, ref=ref, message=text, date=date, **who)


def base_move(merged: BaseMerge | None, ref: str, *, made: bool) -> BaseMove | None:
    """The plan's account of a merge (`made`: the work's, which is pushed; planning's is thrown away)."""
    if merged is None:
        return None
    return BaseMove(ref=ref, since=merged.since, to=merged.base, merge=merged.commit if made else "")


def conflict_reason(exc: BaseConflict) -> str:
    """The run's reason (the ledger's, and the plan comment's status line): no file name, which is the
    repository's text; the comment names them, made inert."""
    return (
        f"the default branch {code_span(exc.ref)} moved from `{exc.since[:12]}` to `{exc.base[:12]}` and "
        f"conflicts with the pull request's branch in {len(exc.files)} file(s); nothing was pushed"
    )


def conflict_text(run_id: str, exc: BaseConflict, branch: str, prefix: str) -> str:
    """The comment that says why the revision stopped, which files conflict, and what to do."""
    files = "\n".join(f"- {code_span(name, 200)}" for name in exc.files[:MAX_LISTED])
    more = f"\n- … and {len(exc.files) - MAX_LISTED} more" if len(exc.files) > MAX_LISTED else ""
    return (
        f"Run `{run_id}` stopped: the default branch {code_span(exc.ref)} moved from `{exc.since[:12]}` to "
        f"`{exc.base[:12]}`, and merging it into {code_span(branch)} conflicts in {len(exc.files)} "
        f"file(s):\n\n{files}{more}\n\nNothing was pushed. Merge {code_span(exc.ref)} into the branch and "
        f"resolve the conflicts, then ask again with `{prefix} revise`.\n\n"
        f"Trace: `steward runs show {run_id}`."
    )
