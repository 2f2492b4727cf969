"""Duplicate triage on open: check the repository enables it, record that it ran (the engine comes later)."""

from __future__ import annotations

import logging
from typing import Any, Literal

from app.config.loader import load_repo_config
from app.config.model import DuplicatesConfig
from app.events import Account, IssuesEvent, PullRequestEvent
from app.github.protocol import RepoId
from jobs.context import github_for
from jobs.failures import guarded
from jobs.ledger import Ledger, RunState
from policies.loader import token_permissions

log = logging.getLogger(__name__)

WORKFLOW = "duplicates"
ACTOR = "steward"


def _skip_reason(dup: DuplicatesConfig, kind: str, author: Account | None) -> str | None:
    """Why this repository's configuration does not want this item triaged, or None."""
    if not dup.enabled:
        return "duplicate triage is disabled"
    if not dup.on_open:
        return "triage on open is off"
    if kind == "pull_request" and not dup.on_pull_requests:
        return "pull requests are not triaged"
    if author is not None and author.login in dup.exclude_authors:
        return f"author {author.login} is excluded"
    if author is not None and author.is_bot and not dup.include_bots:
        return f"author {author.login} is a bot"
    return None


async def triage_duplicates(
    ctx: dict[str, Any], delivery_id: str, event: dict[str, Any], kind: Literal["issue", "pull_request"]
) -> str:
    """Check the configuration, then record a run of the duplicates workflow that ends at once."""
    parsed: IssuesEvent | PullRequestEvent
    if kind == "pull_request":
        parsed = PullRequestEvent.model_validate(event)
        number, author = parsed.pull_request.number, parsed.pull_request.user
    else:
        parsed = IssuesEvent.model_validate(event)
        number, author = parsed.issue.number, parsed.issue.user
    if parsed.installation is None or parsed.repository is None:
        return "ignored: no installation or repository"
    repo = RepoId.parse(parsed.repository.full_name)
    installation_id = parsed.installation.id

    async def work() -> str:
        gh = await github_for(ctx, installation_id, repo, token_permissions(WORKFLOW))
        result = await load_repo_config(gh, repo, ctx.get("redis"))  # read-only: a bad file means defaults
        reason = _skip_reason(result.config.workflows.duplicates, kind, author)
        if reason is not None:
            return f"skipped: {reason}"
        run_id = await _record(ctx, repo, number, delivery_id, installation_id)
        return f"recorded run {run_id}" if run_id else "ran (no ledger)"

    outcome = await guarded(ctx, None, work())  # triage never comments about its own failures
    log.info(
        "triage_duplicates delivery=%s %s#%s (%s): %s", delivery_id, repo.full_name, number, kind, outcome
    )
    return outcome or "failed"


async def _record(
    ctx: dict[str, Any], repo: RepoId, number: int, delivery_id: str, installation_id: int
) -> str:
    """A duplicates run that closes at once: triage itself is not built in this version."""
    sessions = ctx.get("sessions")
    if sessions is None:
        return ""
    ledger = Ledger(sessions)
    run = await ledger.create_run(
        repo.full_name,
        number,
        WORKFLOW,
        actor=ACTOR,
        event="opened",
        delivery_id=delivery_id,
        idempotency_key=f"triage:{delivery_id}",
        installation_id=installation_id,
    )
    reason = "duplicate triage is not built in this version: recorded only"
    path = (RunState.QUEUED, RunState.PLANNING, RunState.RUNNING, RunState.CLOSED)
    done = path.index(run.state) if run.state in path else len(path) - 1  # a retried job resumes
    for state in path[done + 1 :]:
        run = await ledger.transition(run.id, state, actor=ACTOR, reason=reason)
    return run.id
