"""What a command's handler is given, and the shapes of handlers; no handler's own code is imported here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.config.model import RepoConfig
from app.github.protocol import GitHubClient, RepoId

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.config.result import ConfigIssue
    from app.settings import Settings


@dataclass
class CommandContext:
    """Everything a handler may use to answer one command in one comment."""

    gh: GitHubClient
    repo: RepoId
    number: int
    is_pull_request: bool
    actor: str
    args: str
    config: RepoConfig
    config_errors: list[ConfigIssue] = field(default_factory=list)
    settings: Settings | None = None
    redis: Any = None
    sessions: async_sessionmaker[AsyncSession] | None = None
    comment_id: int = 0
    delivery_id: str = ""
    role: str = "none"
    installation_id: int | None = None
    """The installation the comment came through (runs keep it to mint their own tokens)."""
    source: str = ""
    """Where the command was written, when not in a conversation comment: `review` (a review's body, whose id
    `comment_id` is then) or `review-comment` (a line comment)."""
    ask_id: int = 0
    """What a request is the same as: for a review's line comment, its review (a review and its line comments
    are one ask); otherwise `comment_id`."""


Handler = Callable[[CommandContext], Awaitable[str | None]]
"""Answers a command: the markdown reply body, or None for no reply."""
RefusalHook = Callable[[CommandContext], Awaitable[None]]
"""Called when a command is refused for the actor's role (e.g. to record a refused approval)."""
