"""Slash-commands in a new comment: authorise each against the commenter's role, run it, answer once.

A review's body and its line comments are read the same way (`Said`), for the commands whose record says
`in_reviews` (`/steward revise`); the answer goes to the pull request's conversation."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from app.commands import (
    REGISTRY,
    CommandContext,
    CommandSpec,
    ParsedCommand,
    allowed_here,
    authorize,
    effective_permission,
    handler_of,
    parse_commands,
    refusal_hook_of,
    refusal_text,
    render_help,
)
from app.config.loader import ConfigResult, load_repo_config, render_config_errors
from app.constants import CONFIG_PATH, MARKER_CONFIG_ERROR, ROLE_NOT_LOOKED_UP, command_marker
from app.events import Account, IssueCommentEvent
from app.github.client import GitHubKitClient
from app.github.comments import github_time, upsert_comment
from app.github.protocol import RepoId, permission_rank
from jobs.context import github_for, settings_of
from jobs.failures import ReportTo, guarded_text
from jobs.locks import repo_lock
from jobs.shadow.mode import in_shadow
from policies.loader import token_permissions

log = logging.getLogger(__name__)

WORKFLOW = "commands"
"""The policy whose permissions the answering token gets."""
ANSWERED = "answered "
"""How an outcome that answered at least one command begins (the review job tells "asked" by it)."""


@dataclass(frozen=True)
class Said:
    """Text that may hold commands: a conversation comment, a review's body or a review's line comment."""

    installation_id: int
    number: int
    is_pull_request: bool
    author: Account
    body: str
    id: int
    url: str
    source: str = ""
    """"" for a conversation comment; `review` or `review-comment` (only `in_reviews` commands are read)."""
    ask_id: int = 0
    """The review a line comment belongs to (CommandContext.ask_id)."""
    since: str | None = None
    """When the text was posted (GitHub's clock): its answers are younger, so only later comments are read."""

    @classmethod
    def of_comment(cls, event: IssueCommentEvent) -> Said:
        assert event.installation is not None
        return cls(
            event.installation.id, event.issue.number, event.issue.is_pull_request, event.comment.user,
            event.comment.body or "", event.comment.id, event.comment.html_url,
            since=github_time(event.comment.created_at),
        )  # fmt: skip

    def marker(self, index: int) -> str:
        """The answer's marker: a comment's as before; a review's ids are another series, so named."""
        return (
            command_marker(self.id, index)
            if not self.source
            else command_marker(f"{self.source}-{self.id}", index)
        )


@dataclass
class Conversation:
    """One comment being answered: where, by whom, and what is known so far."""

    gh: GitHubKitClient
    repo: RepoId
    said: Said
    result: ConfigResult
    bot: str
    ctx: dict[str, Any]
    delivery_id: str = ""
    role: str | None = None
    answers: list[str] = field(default_factory=list)

    @property
    def actor(self) -> str:
        return self.said.author.login

    async def actor_role(self) -> str:
        if self.role is None:  # asked once per comment, and only when a command needs more than `none`
            self.role = await self.gh.collaborator_permission(self.repo, self.actor)
        return self.role


async def handle_comment(ctx: dict[str, Any], delivery_id: str, event: dict[str, Any]) -> str:
    """Answer the slash-commands of one new issue or pull-request comment."""
    parsed = IssueCommentEvent.model_validate(event)
    settings = settings_of(ctx)
    if parsed.installation is None or parsed.repository is None:
        return "ignored: no installation or repository"
    author = parsed.comment.user
    if author.login.lower() == settings.bot_login.lower():
        return "ignored: Steward's own comment"
    repo = RepoId.parse(parsed.repository.full_name)
    return await answer_said(ctx, delivery_id, repo, Said.of_comment(parsed), "handle_comment")


async def answer_said(ctx: dict[str, Any], delivery_id: str, repo: RepoId, said: Said, job: str) -> str:
    """Answer the commands of one text, reporting a final failure on its issue or pull request."""
    link = said.url or f"{repo.full_name}#{said.number}"
    where = ReportTo(said.installation_id, repo, said.number, f"the commands in {link}")
    outcome = await guarded_text(ctx, where, _answer(ctx, delivery_id, said, repo))
    log.info("%s delivery=%s %s: %s", job, delivery_id, link, outcome)
    return outcome


def _read_here(said: Said, commands: list[ParsedCommand]) -> list[ParsedCommand]:
    """A review is read only for the commands made for it; anything else there is conversation."""
    if not said.source:
        return commands
    return [parsed for parsed in commands if (spec := REGISTRY.get(parsed.name)) and spec.in_reviews]


async def _answer(ctx: dict[str, Any], delivery_id: str, said: Said, repo: RepoId) -> str:
    settings = settings_of(ctx)
    gh = await github_for(ctx, said.installation_id, repo, token_permissions(WORKFLOW))
    result = await load_repo_config(gh, repo, ctx.get("redis"))
    config = result.config
    author = said.author
    if author.is_bot and (config.ignore_bots and author.login not in config.allowed_bots):
        return f"ignored: comment by bot {author.login}"
    commands = _read_here(said, parse_commands(said.body, config.prefix))
    if not commands:
        return "no commands"
    talk = Conversation(gh, repo, said, result, settings.bot_login, ctx, delivery_id)
    if result.errors:
        await upsert_comment(
            gh, repo, said.number, MARKER_CONFIG_ERROR, render_config_errors(result), author=talk.bot
        )
    for index, parsed in enumerate(commands):
        reply = await _one(talk, parsed)
        if reply and in_shadow(config, parsed.name):  # a shadow workflow's command is answered nowhere
            log.info("shadow %s: reply not posted: %s", parsed.name, reply[:200])
        elif reply:
            await upsert_comment(
                gh, repo, said.number, said.marker(index), reply, author=talk.bot, since=said.since
            )
        talk.answers.append(parsed.name)
    return ANSWERED + ", ".join(talk.answers)


def _writes(spec: CommandSpec) -> bool:
    """Commands that start writing work are the ones that may not be opened below write."""
    return permission_rank(spec.floor) >= permission_rank("write")


async def _one(talk: Conversation, parsed: ParsedCommand) -> str | None:
    config = talk.result.config
    spec = REGISTRY.get(parsed.name)
    if spec is None or not allowed_here(spec, config):
        return render_help(config, unknown=parsed.name)
    if permission_rank(effective_permission(spec, config)) > 0:
        role = await talk.actor_role()
        if not authorize(spec, role, config):
            hook = refusal_hook_of(spec)
            if hook is not None:
                await hook(_context(talk, parsed, role))
            return refusal_text(spec, talk.actor, role, config)
    else:
        role = talk.role or ROLE_NOT_LOOKED_UP
    if _writes(spec) and talk.result.errors:
        return (
            f"@{talk.actor}, `{config.prefix} {spec.name}` changes the repository, so it waits until "
            f"`{CONFIG_PATH}` is fixed (the errors are listed in Steward's comment above)."
        )
    command_ctx = _context(talk, parsed, role)
    handler = handler_of(spec)
    # The run commands only record and enqueue (a run's work job takes the lock itself, and `cancel` must get
    # through while it holds it); a record says `repo_lock` when its handler writes to the repository itself.
    if spec.repo_lock and talk.ctx.get("redis") is not None:
        owner = str(talk.ctx.get("job_id") or f"comment:{talk.said.id}")
        async with repo_lock(talk.ctx["redis"], talk.repo, owner):
            return await handler(command_ctx)
    return await handler(command_ctx)


def _context(talk: Conversation, parsed: ParsedCommand, role: str) -> CommandContext:
    config = talk.result.config
    return CommandContext(
        gh=talk.gh,
        repo=talk.repo,
        number=talk.said.number,
        is_pull_request=talk.said.is_pull_request,
        actor=talk.actor,
        args=parsed.args,
        config=config,
        config_errors=list(talk.result.errors),
        settings=settings_of(talk.ctx),
        redis=talk.ctx.get("redis"),
        sessions=talk.ctx.get("sessions"),
        comment_id=talk.said.id,
        delivery_id=talk.delivery_id,
        role=role,
        installation_id=talk.said.installation_id,
        source=talk.said.source,
        ask_id=talk.said.ask_id,
    )
