"""A change landed (a pull request merged, an issue closed as completed): start a docs run where the
repository's `workflows.docs.on` asks, by the path `/steward docs` takes, with whoever merged or closed it as
the requester."""

from __future__ import annotations

import logging
from typing import Any

from app.commands import REGISTRY, CommandContext, allowed_here, authorize, effective_permission
from app.config.loader import load_repo_config
from app.events import IssuesEvent, PullRequestEvent
from app.github.protocol import RepoId
from app.handlers.landed import CLOSED, MERGED, landing_of
from jobs.commands.start import start_run
from jobs.context import db_sessions, github_for, settings_of
from jobs.failures import guarded_text
from policies.loader import token_permissions

log = logging.getLogger(__name__)

WORKFLOW = "docs"
COMMAND = "docs"
PERMISSIONS = "commands"
"""The policy whose token reads the configuration and the role, and posts a noise-limit note."""


async def docs_on_landed(
    ctx: dict[str, Any], delivery_id: str, event_name: str, event: dict[str, Any]
) -> str:
    """Start the docs run a merge or a completed close asks for, or say (to the log) why none starts."""
    model = PullRequestEvent if event_name == "pull_request" else IssuesEvent
    parsed = model.model_validate(event)
    if parsed.installation is None or parsed.repository is None:
        return "ignored: no installation or repository"
    found = landing_of(parsed, settings_of(ctx).bot_login)
    if isinstance(found, str):
        return f"no docs run: {found}"
    repo = RepoId.parse(parsed.repository.full_name)
    # Nobody asked in words, and the job cannot know the repository wants these runs (or has docs in
    # shadow) before it reads the configuration: a final failure is logged, never posted on the item.
    outcome = await guarded_text(ctx, None, _start(ctx, delivery_id, parsed, repo))
    log.info("docs_on_landed delivery=%s %s#%s %s: %s", delivery_id, repo.full_name, found.number,
             found.trigger, outcome)  # fmt: skip
    return outcome


async def _start(
    ctx: dict[str, Any], delivery_id: str, event: IssuesEvent | PullRequestEvent, repo: RepoId
) -> str:
    assert event.installation is not None
    settings = settings_of(ctx)
    found = landing_of(event, settings.bot_login)
    assert not isinstance(found, str)
    gh = await github_for(ctx, event.installation.id, repo, token_permissions(PERMISSIONS))
    result = await load_repo_config(gh, repo, ctx.get("redis"))
    config, spec = result.config, REGISTRY.get(COMMAND)
    if found.trigger not in config.workflows.docs.on:
        return f"no docs run: workflows.docs.on does not list {found.trigger}"
    if result.errors:
        return "no docs run: the configuration has errors"
    if spec is None or not allowed_here(spec, config):
        return "no docs run: the docs workflow or its command is off here"
    sender = found.sender
    if sender is None:
        return "no docs run: nobody is named as having merged or closed it"
    if sender.is_bot and (config.ignore_bots and sender.login not in config.allowed_bots):
        return f"no docs run: {sender.login} is a bot"
    if found.trigger == CLOSED and MERGED in config.workflows.docs.on:
        commit = await gh.closing_commit(repo, found.number)
        if commit is not None:  # a merged pull request's "Fixes #N": its own run covers the change
            return f"no docs run: closed by commit {commit[:12]}, which `merged` covers"
    role = await gh.collaborator_permission(repo, sender.login)
    if not authorize(spec, role, config):
        needed = effective_permission(spec, config)
        return f"no docs run: {sender.login} has {role}; `{config.prefix} docs` needs {needed}"
    asked = CommandContext(
        gh=gh, repo=repo, number=found.number, is_pull_request=found.is_pull_request, actor=sender.login,
        args="", config=config, settings=settings, redis=ctx.get("redis"), sessions=db_sessions(ctx),
        delivery_id=delivery_id, role=role, installation_id=event.installation.id,
    )  # fmt: skip
    # One run per landing: a pull request merges once; an issue may close, reopen and close again.
    key = f"{WORKFLOW}:{repo.full_name}:{found.trigger}:{found.number}:{found.closed_at}"
    reply = await start_run(asked, WORKFLOW, key=key, event=f"{found.trigger} by {sender.login}")
    return f"no docs run: {reply}" if reply else f"docs run queued ({found.trigger} by {sender.login})"
