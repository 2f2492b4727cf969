"""A command's one record: how it is written, who may run it, what it does, and where its handler lives."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from app.config.model import Role

_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


@dataclass(frozen=True)
class CommandSpec:
    """One command, as Prow's plugins declare theirs: the help record and the handler, in one registration.

    The handler is named ("module:function"), not imported: the edge reads every record (help, the README
    table, config checks) without loading the worker, and the worker imports a handler when it first runs it.
    """

    name: str
    usage: str
    permission: Role
    summary: str
    handler: str
    """`package.module:function`, an `async def (ctx: CommandContext) -> str | None`."""
    examples: tuple[str, ...] = ()
    where: str = "issue, PR"
    floor: Role = "none"
    """The least role a repository may open the command to (commands that start writing work: write)."""
    workflow: str | None = None
    """The workflow the command belongs to; disabling that workflow hides the command."""
    on_refused: str | None = None
    """`module:function` called, besides the refusal reply, when someone below the level runs it."""
    repo_lock: bool = False
    """Whether the handler itself writes to the repository, so it runs under the repository's lock."""
    in_reviews: bool = False
    """Whether the command is also read in a pull request review's body and its line comments (others there
    are passed by, unanswered: a review is for people)."""

    def __post_init__(self) -> None:
        for target in (self.handler, self.on_refused):
            if target is not None and not _TARGET.match(target):
                raise ValueError(f"command {self.name!r}: {target!r} is not `module:function`")


@cache
def load(target: str) -> Any:
    """The callable a record names, imported once."""
    module, _, attr = target.partition(":")
    found = getattr(importlib.import_module(module), attr, None)
    if not callable(found):
        raise LookupError(f"{target!r} names nothing callable")
    return found
