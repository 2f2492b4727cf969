"""Commands as self-describing records: one registration gives the handler, the help and the README table.

A command is declared once with `@command(...)`. A later module replaces a command's handler with
`@handler("docs")` (the record, its help and its permission stay); the modules named in HANDLER_MODULES are
imported on the first lookup so their `@handler` registrations take effect without any other wiring.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from app.config.model import RepoConfig, Role
from app.github.protocol import GitHubClient, RepoId, permission_rank

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.config.loader import ConfigIssue
    from app.settings import Settings

HANDLER_MODULES: tuple[str, ...] = ("jobs.commands",)
"""Modules imported once, on first lookup, so that the real handlers of later issues register themselves."""


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


Handler = Callable[[CommandContext], Awaitable[str | None]]
"""Answers a command: the markdown reply body, or None for no reply."""
RefusalHook = Callable[[CommandContext], Awaitable[None]]
"""Called when a command is refused for the actor's role (e.g. to record a refused approval)."""
REFUSAL_HOOKS: dict[str, RefusalHook] = {}


def on_refused(name: str) -> Callable[[RefusalHook], RefusalHook]:
    """Register what happens, besides the refusal reply, when someone below the level runs `name`."""

    def register(func: RefusalHook) -> RefusalHook:
        REFUSAL_HOOKS[name] = func
        return func

    return register


@dataclass(frozen=True)
class CommandSpec:
    """One command: how it is written, who may run it, what it does, and the code that does it."""

    name: str
    usage: str
    permission: Role
    summary: str
    handler: Handler
    available: bool = True
    examples: tuple[str, ...] = ()
    where: str = "issue, PR"
    floor: Role = "none"
    """The least role a repository may open the command to (commands that start writing work: write)."""
    workflow: str | None = None
    """The workflow the command belongs to; disabling that workflow hides the command."""


class Registry:
    """The commands Steward understands, by name."""

    def __init__(self, handler_modules: tuple[str, ...] = ()) -> None:
        self._specs: dict[str, CommandSpec] = {}
        self._handler_modules = handler_modules
        self._loaded = False

    def command(
        self,
        name: str,
        *,
        usage: str,
        permission: Role,
        summary: str,
        available: bool = True,
        examples: tuple[str, ...] = (),
        where: str = "issue, PR",
        floor: Role = "none",
        workflow: str | None = None,
    ) -> Callable[[Handler], Handler]:
        """Declare a command and its handler (a placeholder handler when available=False)."""

        def register(func: Handler) -> Handler:
            if name in self._specs:
                raise ValueError(f"command {name!r} is registered twice")
            self._specs[name] = CommandSpec(
                name, usage, permission, summary, func, available, examples, where, floor, workflow
            )
            return func

        return register

    def handler(self, name: str) -> Callable[[Handler], Handler]:
        """Give an already declared command its real handler (used by the modules of later issues)."""

        def register(func: Handler) -> Handler:
            if name not in self._specs:
                raise KeyError(f"no command {name!r} to give a handler to; declare it in app/commands first")
            self._specs[name] = replace(self._specs[name], handler=func, available=True)
            return func

        return register

    def load_handlers(self) -> None:
        """Import the handler modules that exist (once); a missing module simply leaves the placeholder."""
        if self._loaded:
            return
        self._loaded = True
        for module in self._handler_modules:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name is None or not module.startswith(exc.name):
                    raise

    def get(self, name: str) -> CommandSpec | None:
        self.load_handlers()
        return self._specs.get(name)

    def specs(self) -> list[CommandSpec]:
        self.load_handlers()
        return list(self._specs.values())

    def __iter__(self) -> Iterator[CommandSpec]:
        return iter(self.specs())

    def __contains__(self, name: object) -> bool:
        return name in self._specs


REGISTRY = Registry(HANDLER_MODULES)
command = REGISTRY.command
handler = REGISTRY.handler


def effective_permission(spec: CommandSpec, config: RepoConfig | None = None) -> Role:
    """The role a command needs here: the repository's override, never below the command's floor."""
    asked = config.commands.get(spec.name).permission if config is not None else None
    wanted: Role = asked if asked is not None else spec.permission
    return wanted if permission_rank(wanted) >= permission_rank(spec.floor) else spec.floor


def allowed_here(spec: CommandSpec, config: RepoConfig) -> bool:
    """Whether the repository offers this command (the command and its workflow are enabled)."""
    if not config.commands.get(spec.name).enabled:
        return False
    if spec.workflow is None:
        return True
    workflow = getattr(config.workflows, spec.workflow, None)
    return bool(getattr(workflow, "enabled", True))


def authorize(spec: CommandSpec, role: str, config: RepoConfig | None = None) -> bool:
    """Whether someone with this GitHub role may run the command here."""
    return permission_rank(role) >= permission_rank(effective_permission(spec, config))


def refusal_text(spec: CommandSpec, actor: str, role: str, config: RepoConfig | None = None) -> str:
    """A polite refusal naming the level needed, e.g. for a reader asking for `/steward docs`."""
    prefix = config.prefix if config is not None else "/steward"
    needed = effective_permission(spec, config)
    have = role if permission_rank(role) > 0 else "no role here"
    return f"@{actor}, `{prefix} {spec.name}` needs {needed} access to this repository; you have {have}."
