"""The published JSON schema and the validator accept exactly the same files, field by field of the model."""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import annotated_types
import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from app.config.checks import semantic_problems
from app.config.loader import parse_config
from app.config.model import RepoConfig
from app.config.reference import config_schema
from app.config.types import PATTERN_WORDS, CategoryName, Duration, Glob, McpServerName, Size, TimeZone

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Draft202012Validator(json.loads((ROOT / "schema" / "steward.schema.json").read_text()))
MISSING = object()

SIZES = (
    [1, 4096, 4096.0, "4k", "4K", "4kb", "4KB", "1m", "512", "007k"],
    [0, -1, 1.5, True, "0k", "lots", "4 k", " 4k", "4k\n", "4kk", "1.5g", "4t", "", "-4k", [], {}],
)
DURATIONS = (
    [1, 0.5, 30, "30s", "5m", "1h", "0090s"],
    [0, -1, True, "0s", "10 min", "1.5m", "1d", "30", "", "5m\n", "m", []],
)
GLOBS = (
    ["docs/**", "*.md", "a?b.rst", " x", "d" * 200, "*/" * 8],
    ["", "   ", "\n", "*" * 9, "?*" * 5, "d" * 201, 5, None, ["docs/**"]],
)
MCP_SERVER_NAMES = (
    ["search", "issue-db", "a_1", "x" * 32],
    ["", "Search", "a b", "a.b", "x" * 33, "ok\n", 1, None, ["search"]],
)
TIME_ZONES = (
    ["UTC", "Europe/Paris", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "Asia/Calcutta"],
    [
        "",
        "Mars/Olympus",
        "europe/paris",
        "Europe/Paris\n",
        " UTC",
        "../../etc/passwd",
        "Europe",
        1,
        None,
        ["UTC"],
    ],
)
CATEGORY_NAMES = (["Announcements", "Q&A", "x" * 100], ["", "x" * 101, 1, True, ["Announcements"], {}])
PREFIXES = (["/bot", "/a-b_c", "/B" + "x" * 30], ["bot", "/bot\n", "/1x", "/", "/" + "a" * 33, 1, None])


def _bounds(info: FieldInfo | None) -> tuple[float | None, float | None, bool]:
    low = high = None
    open_low = False
    for item in info.metadata if info else []:
        if isinstance(item, annotated_types.Ge):
            low = item.ge  # type: ignore[assignment]
        elif isinstance(item, annotated_types.Gt):
            low, open_low = item.gt, True  # type: ignore[assignment]
        elif isinstance(item, annotated_types.Le):
            high = item.le  # type: ignore[assignment]
    return low, high, open_low


def _numbers(kind: type, info: FieldInfo | None) -> tuple[list[Any], list[Any]]:
    low, high, open_low = _bounds(info)
    step = 1 if kind is int else 0.25
    start = (low or 0) + (step if open_low else 0)
    valid: list[Any] = [start, start + step] + ([high] if high is not None else [])
    invalid: list[Any] = [True, "3", None, []]
    if kind is int:
        valid.append(float(start))  # 3.0 is an integer to JSON Schema
        invalid.append(start + 0.5)
    else:
        valid.append(int(start) + 1 if high is None or int(start) + 1 <= high else int(start))
    invalid += [] if low is None else [low - step if not open_low else low]
    invalid += [] if high is None else [high + step]
    return valid, invalid


NAMED: dict[Any, tuple[list[Any], list[Any]]] = {
    Size: SIZES,
    Duration: DURATIONS,
    Glob: GLOBS,
    McpServerName: MCP_SERVER_NAMES,
    TimeZone: TIME_ZONES,
    CategoryName: CATEGORY_NAMES,
}


def samples(annotation: Any, info: FieldInfo | None = None) -> tuple[list[Any], list[Any]]:
    """(values the field must accept, values it must refuse), from its type and constraints."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or origin is typing.Union:
        rest = [a for a in args if a is not type(None)]
        assert len(rest) == 1, f"no samples for {annotation}"
        valid, invalid = samples(rest[0], info)
        return [None, *valid], [v for v in invalid if v is not None]
    if annotation in NAMED:
        return NAMED[annotation]
    if origin is Annotated:
        return samples(args[0], info)
    if origin is Literal:
        return list(args), ["bogus", str(args[-1]).upper(), 1, True, None, [args[0]]]
    if origin is list:
        valid, invalid = samples(args[0])
        return [[], *[[v] for v in valid[:3]]], [valid[0], {}, *[[v] for v in invalid]]
    if origin is dict:
        valid, invalid = samples(args[1])
        return [{}, {"label": valid[0]}], [[], "x", {1: valid[0]}, *[{"label": v} for v in invalid[:4]]]
    if annotation is bool:
        return [True, False], ["yes", "true", 1, 0, None, "on"]
    if annotation in (int, float):
        return _numbers(annotation, info)
    if annotation is str:
        if info is not None and any(getattr(m, "pattern", None) for m in info.metadata):
            return PREFIXES
        return ["x", "yes", ""], [1, True, None, ["x"], {"x": 1}]
    raise AssertionError(f"no samples for {annotation}: add them here when adding a kind of field")


def leaves(model: type[BaseModel], path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], FieldInfo]]:
    for name, info in model.model_fields.items():
        key = (*path, info.alias or name)
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield key, info  # the mapping itself: wrong shapes and unknown keys
            yield from leaves(annotation, key)
        else:
            yield key, info


def _nest(path: tuple[str, ...], value: Any) -> Any:
    for part in reversed(path):
        value = {part: value}
    return value


def documents() -> Iterator[tuple[str, Any, bool]]:
    """(id, data, valid) for every field: each valid and invalid sample, plus whole-file shapes."""
    for path, info in leaves(RepoConfig):
        annotation = info.annotation
        dotted = ".".join(path)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            valid: list[Any] = [{}]
            invalid: list[Any] = [[], "x", 5, True, {"no_such_key": 1}, {1: True}]
        else:  # a field's own Annotated type (a time zone) keeps its name when rebuilt
            valid, invalid = samples(info.rebuild_annotation() if info.metadata else annotation, info)
        for i, value in enumerate(valid):
            yield f"{dotted}-ok{i}", _nest(path, value), True
        for i, value in enumerate(invalid):
            yield f"{dotted}-bad{i}", _nest(path, value), False
    yield "empty", None, True
    yield "top-list", ["docs"], False
    yield "top-scalar", "steward", False
    yield "top-unknown", {"prefx": "/bot"}, False


DOCUMENTS = list(documents())


def _validator_accepts(data: Any) -> bool:
    try:
        RepoConfig.model_validate(data if data is not None else {})
    except ValidationError:
        return False
    return True


def test_the_committed_schema_is_the_generated_one() -> None:
    assert SCHEMA.schema == config_schema()


def test_the_generated_set_covers_every_field_broadly() -> None:
    covered = {doc_id.rsplit("-", 1)[0] for doc_id, _, _ in DOCUMENTS}
    assert {".".join(path) for path, _ in leaves(RepoConfig)} <= covered
    assert len(DOCUMENTS) > 600
    assert sum(valid for _, _, valid in DOCUMENTS) > 150


@pytest.mark.parametrize(("data", "valid"), [d[1:] for d in DOCUMENTS], ids=[d[0] for d in DOCUMENTS])
def test_schema_and_validator_agree(data: Any, valid: bool) -> None:
    text = yaml.safe_dump(data)
    parsed = yaml.safe_load(text)  # what both see: the file as YAML reads it
    by_schema = SCHEMA.is_valid(parsed)
    by_validator = _validator_accepts(parsed)
    assert (by_schema, by_validator) == (valid, valid), (text, list(SCHEMA.iter_errors(parsed))[:1])
    result = parse_config(text)
    if not valid:
        assert result.errors, text
        return
    # The schema checks shapes; only the policy (which no schema can hold) may still object, and says so.
    policy = {field for field, _ in semantic_problems(result.config)}
    assert {e.field for e in result.errors} <= policy, (text, result.errors)


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def test_every_pattern_of_the_schema_has_words_for_its_errors() -> None:
    found = set(_patterns(config_schema()))
    assert found and found <= set(PATTERN_WORDS), found - set(PATTERN_WORDS)


@pytest.mark.parametrize(
    ("data", "valid"),
    [d[1:] for d in DOCUMENTS if not d[2]],
    ids=[d[0] for d in DOCUMENTS if not d[2]],
)
def test_no_error_shows_a_regex_or_a_raw_size(data: Any, valid: bool) -> None:
    messages = " ".join(e.message for e in parse_config(yaml.safe_dump(data)).errors)
    assert not any(part in messages for part in ("(?", "[A-Z", "[0-9]", "$")), messages
    assert "1073741824" not in messages and "1048576" not in messages, messages
