"""Validate a configuration in one pass: drop each invalid value and validate again, so that every type error
and every policy problem of the rest are found together."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from app.config.model import RepoConfig

MAX_PASSES = 8
"""Each pass drops what the one before found; nesting is shallow, so a few passes find everything."""


def _drop(data: dict[str, Any], location: tuple[str | int, ...]) -> bool:
    """Remove the deepest mapping key on the location (a list goes whole); whether anything was removed."""
    node: Any = data
    holder: tuple[dict[Any, Any], Any] | None = None
    for part in location:
        if not isinstance(node, dict) or part not in node:
            break
        holder, node = (node, part), node[part]
    if holder is None:
        return False
    del holder[0][holder[1]]
    return True


def validate_all(data: dict[str, Any]) -> tuple[RepoConfig, list[ErrorDetails]]:
    """The configuration with every invalid value left at its default, and the errors of all of them."""
    errors: list[ErrorDetails] = []
    work = copy.deepcopy(data)
    for _ in range(MAX_PASSES):
        try:
            return RepoConfig.model_validate(work), errors
        except ValidationError as exc:
            found = exc.errors(include_url=False)
            errors += found
            if not any([_drop(work, tuple(err["loc"])) for err in found]):
                break
    return RepoConfig(), errors
