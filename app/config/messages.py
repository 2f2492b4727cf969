"""Turn pydantic's validation errors into sentences a repository maintainer can act on."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from app.config.model import RepoConfig
from app.config.types import PATTERN_WORDS


def _model_at(location: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that holds the last part of a location, if the path goes through models only."""
    model: type[BaseModel] = RepoConfig
    for part in location:
        if isinstance(part, int):
            return None
        info = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        if info is None:
            return None
        target = _model_of(info.annotation)
        if target is None:
            return None
        model = target
    return model


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


def allowed_keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def describe_error(err: ErrorDetails) -> str:
    """One sentence for one error; unknown keys get the allowed ones and a likely spelling."""
    location = tuple(err["loc"])
    if err["type"] == "extra_forbidden" and location:
        key = str(location[-1])
        parent = _model_at(location[:-1])
        if parent is None:
            return f"unknown key `{key}`"
        keys = allowed_keys(parent)
        close = difflib.get_close_matches(key, keys, n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        return f"unknown key `{key}` (allowed: {', '.join(keys)}){hint}"
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "string_pattern_mismatch":
        words = PATTERN_WORDS.get(str((err.get("ctx") or {}).get("pattern")))
        return f"must be {words}" if words else "does not have the form this key needs"
    if err["type"] == "missing":
        return "this key is required"
    if err["type"] == "string_type" and isinstance(err.get("input"), bool):
        return "input should be a string (YAML reads a bare yes/no/on/off/true/false as a boolean: quote it)"
    return message[:1].lower() + message[1:] if message else "invalid value"
