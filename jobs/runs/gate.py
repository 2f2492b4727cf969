"""The review gate: `steward/review` goes green on an approving review by a person with write access.

New pushes set it back to pending; closing the pull request ends the run as merged or closed. Steward
never merges.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

from app.config.loader import load_repo_config
from app.config.model import RepoConfig, WritingWorkflowConfig
from app.constants import REVIEW_STATUS_CONTEXT
from app.events import PullRequestEvent, PullRequestReviewEvent
from app.github.protocol import RepoId, permission_rank
from jobs.context import db_sessions, settings_of
from jobs.failures import ReportTo, guarded_text
from jobs.ledger import Ledger, LedgerError, RunState, RunView
from jobs.runs import registry
from jobs.runs.github_forge import PENDING_TEXT
from jobs.runs.scoped import scoped_client

log = logging.getLogger(__name__)

GATE_PERMISSIONS = {"contents": "read", "pull_requests": "read", "statuses": "write"}
RUNS_SCANNED = 200
GATE_STEP = "review-gate"


async def run_of_pull(ledger: Ledger, repo: str, number: int) -> RunView | None:
    """The newest run that proposed this pull request."""
    for run in await ledger.list_runs(repo=repo, limit=RUNS_SCANNED):
        if run.pr_number == number:
            return run
    return None


async def gate_review(ctx: dict[str, Any], event: PullRequestReviewEvent) -> str:
    """Decide whether one submitted review turns the gate green."""
    if event.installation is None or event.repository is None:
        return "ignored: no installation or repository"
    settings = settings_of(ctx)
    repo = RepoId.parse(event.repository.full_name)
    number = event.pull_request.number
    user = event.review.user
    if event.review.state.lower() != "approved":
        return f"review {event.review.state}: the gate stays as it is"
    ledger = Ledger(db_sessions(ctx))
    run = await run_of_pull(ledger, repo.full_name, number)
    if run is None:
        return "not a Steward pull request"
    if user is None or user.login.lower() == settings.bot_login.lower() or user.type == "Bot":
        return "ignored: a review by a bot does not count"
    reviewer = user.login
    what = f"review by {reviewer}"
    gh, _ = await scoped_client(ctx, event.installation.id, repo, GATE_PERMISSIONS)
    config = (await load_repo_config(gh, repo, ctx.get("redis"))).config
    if reviewer.lower() == run.actor.lower() and not _requester_may_approve(run.workflow, config):
        await ledger.record_step(run.id, GATE_STEP, what, 1, b"ignored: the requester's own review")
        return f"ignored: {reviewer} asked for the run"
    role = await gh.collaborator_permission(repo, reviewer)
    if permission_rank(role) < permission_rank("write"):
        await ledger.record_step(run.id, GATE_STEP, what, 1, f"ignored: role {role}".encode())
        return f"ignored: {reviewer} has {role}"
    pull = await gh.get_pull(repo, number)
    if event.review.commit_id and event.review.commit_id != pull.head_sha:
        return "ignored: the review is of an older commit"
    if await gh.status_of(repo, pull.head_sha, REVIEW_STATUS_CONTEXT) == "success":
        return f"steward/review already success on {pull.head_sha[:12]}"
    await gh.set_status(
        repo, pull.head_sha, "success", context=REVIEW_STATUS_CONTEXT, description=f"Approved by {reviewer}"
    )
    await ledger.record_step(run.id, GATE_STEP, what, 0, f"success on {pull.head_sha}".encode())
    return f"steward/review success on {pull.head_sha[:12]} ({reviewer}, {role})"


async def pull_synchronized(ctx: dict[str, Any], delivery_id: str, event: dict[str, Any]) -> str:
    """arq job: a new push to a Steward branch sets the gate back to pending."""
    parsed = PullRequestEvent.model_validate(event)
    return await _guarded_pull(ctx, "pull_synchronized", delivery_id, parsed, _pending(ctx, parsed))


async def _pending(ctx: dict[str, Any], event: PullRequestEvent) -> str:
    assert event.installation is not None and event.repository is not None
    repo = RepoId.parse(event.repository.full_name)
    run = await run_of_pull(Ledger(db_sessions(ctx)), repo.full_name, event.pull_request.number)
    head = event.pull_request.head
    if run is None or head is None:
        return "not a Steward pull request"
    gh, _ = await scoped_client(ctx, event.installation.id, repo, GATE_PERMISSIONS)
    if await gh.status_of(repo, head.sha, REVIEW_STATUS_CONTEXT) is not None:
        return f"steward/review already set on {head.sha[:12]}"
    await gh.set_status(repo, head.sha, "pending", context=REVIEW_STATUS_CONTEXT, description=PENDING_TEXT)
    return f"steward/review pending on {head.sha[:12]}"


async def pull_closed(ctx: dict[str, Any], delivery_id: str, event: dict[str, Any]) -> str:
    """arq job: the run ends as merged or closed with its pull request."""
    parsed = PullRequestEvent.model_validate(event)
    return await _guarded_pull(ctx, "pull_closed", delivery_id, parsed, _close(ctx, parsed))


async def _close(ctx: dict[str, Any], event: PullRequestEvent) -> str:
    assert event.repository is not None
    ledger = Ledger(db_sessions(ctx))
    number = event.pull_request.number
    run = await run_of_pull(ledger, event.repository.full_name, number)
    if run is None:
        return "not a Steward pull request"
    to = RunState.MERGED if event.pull_request.merged else RunState.CLOSED
    actor = event.sender.login if event.sender else "github"
    ended = []
    for each in await ledger.list_runs(repo=event.repository.full_name, limit=RUNS_SCANNED):
        if each.pr_number != number or each.state != RunState.PROPOSED:
            continue  # a revision proposes in its parent's pull request: both end with it
        try:
            await ledger.transition(each.id, to, actor=actor, reason=f"pull request #{number} {to.value}")
        except LedgerError as exc:
            log.info("run %s unchanged: %s", each.id, exc)
            continue
        ended.append(each.id)
    if not ended:
        return f"run {run.id} unchanged: it is {run.state}"
    return f"run {', '.join(ended)} {to.value}"


async def _guarded_pull(
    ctx: dict[str, Any], name: str, delivery_id: str, event: PullRequestEvent, work: Coroutine[Any, Any, str]
) -> str:
    if event.installation is None or event.repository is None:
        work.close()
        return "ignored: no installation or repository"
    repo = RepoId.parse(event.repository.full_name)
    number = event.pull_request.number
    where = ReportTo(event.installation.id, repo, number, "the review gate")
    outcome = await guarded_text(ctx, where, work)
    log.info("%s delivery=%s %s#%s: %s", name, delivery_id, repo.full_name, number, outcome)
    return outcome


def _requester_may_approve(workflow: str, config: RepoConfig) -> bool:
    """The run's workflow section's `requester_may_approve_review` (off where the section has none)."""
    section = registry.get(workflow).section(config)
    return isinstance(section, WritingWorkflowConfig) and section.requester_may_approve_review
