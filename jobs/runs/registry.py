"""Where workflows register themselves; the lifecycle finds them here, never by importing one by name."""

from __future__ import annotations

import importlib
import pkgutil

from jobs.runs.workflow import Workflow, kinds

PACKAGE = "jobs.workflows"
_registered: dict[str, Workflow] = {}
_discovered = False


class UnknownWorkflowError(LookupError):
    """No workflow of that name; the message lists those there are."""


def register(workflow: Workflow) -> Workflow:
    """Add a workflow (a package calls this on import; a test may call it with its own)."""
    if not isinstance(workflow, Workflow):
        raise TypeError(f"{workflow!r} does not have the Workflow protocol's shape")
    existing = _registered.get(workflow.name)
    if existing is not None and existing is not workflow:
        raise ValueError(f"a workflow named {workflow.name!r} is registered already")
    _registered[workflow.name] = workflow
    return workflow


def unregister(name: str) -> None:
    """Remove a workflow (tests that registered their own)."""
    _registered.pop(name, None)


def discover() -> None:
    """Import every package under jobs.workflows once, so each registers itself."""
    global _discovered
    if _discovered:
        return
    package = importlib.import_module(PACKAGE)
    for module in pkgutil.iter_modules(package.__path__, f"{PACKAGE}."):
        importlib.import_module(module.name)
    _discovered = True


def get(name: str) -> Workflow:
    discover()
    try:
        return _registered[name]
    except KeyError:
        raise UnknownWorkflowError(
            f"no workflow named {name!r}; there are: {', '.join(kinds(list(_registered.values())))}"
        ) from None


def all_workflows() -> list[Workflow]:
    discover()
    return [_registered[name] for name in sorted(_registered)]
