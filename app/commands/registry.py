"""The commands Steward understands: each module of app/commands/builtin/ holds one record, found on use.

Adding a command is adding one module there (its `COMMAND` record names its handler); no list to edit.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from typing import cast

from app.commands.context import Handler, RefusalHook
from app.commands.record import CommandSpec, load
from app.config.model import RepoConfig, Role
from app.github.protocol import permission_rank

BUILTIN = "app.commands.builtin"
"""The package whose every module declares one command."""


class Registry:
    """The command records by name: those of its packages' modules, plus any registered directly."""

    def __init__(self, packages: tuple[str, ...] = (BUILTIN,)) -> None:
        self._packages = packages
        self._specs: dict[str, CommandSpec] = {}
        self._discovered = False

    def register(self, spec: CommandSpec) -> CommandSpec:
        """Add one record (discovery uses this, and so may a test or a plug-in)."""
        self._discover()
        if spec.name in self._specs:
            raise ValueError(f"command {spec.name!r} is registered twice")
        self._specs[spec.name] = spec
        return spec

    def unregister(self, name: str) -> None:
        self._specs.pop(name, None)

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        for package in self._packages:
            path = importlib.import_module(package).__path__
            for info in sorted(pkgutil.iter_modules(path), key=lambda i: i.name):
                module = importlib.import_module(f"{package}.{info.name}")
                spec = getattr(module, "COMMAND", None)
                if not isinstance(spec, CommandSpec):
                    raise TypeError(f"{module.__name__} declares no COMMAND record")
                self.register(spec)

    def get(self, name: str) -> CommandSpec | None:
        self._discover()
        return self._specs.get(name)

    def specs(self) -> list[CommandSpec]:
        """Every record, by name (help and the README table list them in this order)."""
        self._discover()
        return sorted(self._specs.values(), key=lambda spec: spec.name)

    def __iter__(self) -> Iterator[CommandSpec]:
        return iter(self.specs())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None


REGISTRY = Registry()


def handler_of(spec: CommandSpec) -> Handler:
    """The handler a record names, imported on first use (in the worker, never at the edge)."""
    return cast(Handler, load(spec.handler))


def refusal_hook_of(spec: CommandSpec) -> RefusalHook | None:
    return cast(RefusalHook, load(spec.on_refused)) if spec.on_refused is not None else None


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
