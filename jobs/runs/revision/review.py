"""A "Request changes" review starts a revision, where the workflow's `revise_on` asks for it (off by
default), from someone with the workflow's approval level; the review's id keeps it to one run."""

from __future__ import annotations

from typing import Any

from app.commands.context import CommandContext
from app.config.loader import load_repo_config
from app.config.model import WritingWorkflowConfig
from app.events import PullRequestReviewEvent
from app.github.comments import upsert_comment
from app.github.protocol import RepoId
from jobs.context import db_sessions, settings_of
from jobs.ledger import Ledger
from jobs.runs import registry
from jobs.runs.revision.start import proposing_run, start_revision
from jobs.runs.scoped import scoped_client

CHANGES_REQUESTED = "changes_requested"
REPLY_PERMISSIONS = {"contents": "read", "issues": "write"}


def review_marker(review_id: int) -> str:
    return f"<!-- steward:revise-review {review_id} -->"


async def revise_on_review(ctx: dict[str, Any], delivery_id: str, event: PullRequestReviewEvent) -> str:
    """Start the revision a changes-requested review asks for, or say why not (to the log, or, for a
    person below the approval level, in one reply on the pull request)."""
    if event.installation is None or event.repository is None:
        return "ignored: no installation or repository"
    if event.review.state.lower() != CHANGES_REQUESTED:
        return f"review {event.review.state}: no revision"
    settings = settings_of(ctx)
    user = event.review.user
    if user is None or user.login.lower() == settings.bot_login.lower() or user.type == "Bot":
        return "ignored: a review by a bot starts nothing"
    repo = RepoId.parse(event.repository.full_name)
    number = event.pull_request.number
    ledger = Ledger(db_sessions(ctx))
    parent = await proposing_run(ledger, repo.full_name, number)
    if parent is None:
        return "not a Steward pull request"
    gh, _ = await scoped_client(ctx, event.installation.id, repo, REPLY_PERMISSIONS)
    result = await load_repo_config(gh, repo, ctx.get("redis"))
    section = registry.get(parent.workflow).section(result.config)
    if not isinstance(section, WritingWorkflowConfig) or CHANGES_REQUESTED not in section.revise_on:
        return f"no revision: workflows.{parent.workflow}.revise_on does not list {CHANGES_REQUESTED}"
    if result.errors or not section.enabled:
        return "no revision: the configuration has errors or the workflow is off"
    asked = CommandContext(
        gh=gh, repo=repo, number=number, is_pull_request=True, actor=user.login, args="",
        config=result.config, settings=settings, redis=ctx.get("redis"), sessions=db_sessions(ctx),
        delivery_id=delivery_id, role=await gh.collaborator_permission(repo, user.login),
        installation_id=event.installation.id,
    )  # fmt: skip
    key = f"revise:{repo.full_name}:review:{event.review.id}"
    reply = await start_revision(asked, key=key, event=f"review {CHANGES_REQUESTED}")
    if reply is None:
        return f"revision of run {parent.id} queued"
    await upsert_comment(gh, repo, number, review_marker(event.review.id), reply, author=settings.bot_login)
    return f"no revision: {reply}"
