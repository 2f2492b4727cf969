"""Value types of the configuration whose JSON schema is written from the same pattern that validates them."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema


def whole(body: str) -> str:
    """A pattern that must match the whole text, in Python and in editors (ECMA-262) alike.

    Python's `$` also matches before a final newline and ECMA's does not; the lookahead makes both mean "end".
    """
    return f"^(?:{body})$(?!\\n)"


SIZE_PATTERN = whole(r"0*[1-9][0-9]*[kKmMgG]?[bB]?")
DURATION_PATTERN = whole(r"0*[1-9][0-9]*[smh]")
GLOB_PATTERN = whole(r"(?=[\s\S]*\S)[^*?]*(?:[*?][^*?]*){0,8}")
MAX_GLOB_CHARS = 200
PREFIX_PATTERN = whole(r"/[A-Za-z][A-Za-z0-9_-]{0,31}")
MCP_SERVER_PATTERN = whole(r"[a-z0-9_-]{1,32}")

PATTERN_WORDS: dict[str, str] = {
    SIZE_PATTERN: "a whole number of bytes above 0, or one followed by k, m or g (e.g. `512m`, `2g`)",
    DURATION_PATTERN: "a number of seconds above 0, or a whole number and s, m or h (e.g. `90s`, `10m`)",
    GLOB_PATTERN: "a path glob with some text that is not a space and at most 8 wildcards (`*` or `?`)",
    PREFIX_PATTERN: "`/` then a letter, then up to 31 letters, digits, `_` or `-` (e.g. `/steward`, `/bot`)",
    MCP_SERVER_PATTERN: "1 to 32 lowercase letters, digits, `_` or `-` (e.g. `search`, `issue-db`)",
}
"""What each pattern means, in words: error messages say this instead of showing the regex."""

_UNIT_BYTES = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def _whole_float(value: object) -> object:
    """5.0 is an integer to JSON Schema (and so to editors); accept it as one here too."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _size(value: object) -> object:
    if not isinstance(value, str):
        return _whole_float(value)
    if not re.match(SIZE_PATTERN, value):
        raise ValueError(f"not a size: {value[:40]!r}; use {PATTERN_WORDS[SIZE_PATTERN]}")
    text = value.lower().removesuffix("b")
    unit = text[-1] if text[-1] in "kmg" else ""
    return int(text.removesuffix(unit)) * _UNIT_BYTES[unit]


def _duration(value: object) -> object:
    if not isinstance(value, str):
        return value
    if not re.match(DURATION_PATTERN, value):
        raise ValueError(f"not a duration: {value[:40]!r}; use {PATTERN_WORDS[DURATION_PATTERN]}")
    return float(int(value[:-1]) * _UNIT_SECONDS[value[-1]])


def _schema(number: str, pattern: str) -> dict[str, Any]:
    return {"anyOf": [{"type": number, "exclusiveMinimum": 0}, {"type": "string", "pattern": pattern}]}


Size = Annotated[int, BeforeValidator(_size), Field(gt=0), WithJsonSchema(_schema("integer", SIZE_PATTERN))]
"""Bytes: an integer, or text such as `512m` (k, m, g are powers of 1024)."""
Duration = Annotated[
    float, BeforeValidator(_duration), Field(gt=0), WithJsonSchema(_schema("number", DURATION_PATTERN))
]
"""Seconds: a number, or text such as `90s`, `10m`, `1h`."""


def _glob(value: str) -> str:
    if not re.match(GLOB_PATTERN, value):
        raise ValueError(f"{value[:60]!r} is not {PATTERN_WORDS[GLOB_PATTERN]}")
    return value


Glob = Annotated[
    str,
    Field(max_length=MAX_GLOB_CHARS),
    AfterValidator(_glob),
    WithJsonSchema({"type": "string", "maxLength": MAX_GLOB_CHARS, "pattern": GLOB_PATTERN}),
]
"""A path glob (`*`, `?`, `**`), bounded so that matching it stays cheap."""

McpServerName = Annotated[str, Field(pattern=MCP_SERVER_PATTERN)]
"""An external MCP server's name, as the operator declared it in STEWARD_MCP_SERVERS."""


@cache
def time_zones() -> frozenset[str]:
    """The IANA time zone names of the tzdata package (a dependency), the same on every host."""
    return frozenset(files("tzdata").joinpath("zones").read_text(encoding="utf-8").split())


def _time_zone(value: str) -> str:
    if value not in time_zones():
        shown = value[:60]
        raise ValueError(
            f"unknown time zone {shown!r}; use an IANA name such as `UTC`, `Europe/Paris`, `Asia/Tokyo`"
        )
    return value


TimeZone = Annotated[
    str, AfterValidator(_time_zone), WithJsonSchema({"type": "string", "enum": sorted(time_zones())})
]
"""An IANA time zone name (`UTC`, `Europe/Paris`), as the tzdata package knows them."""

CategoryName = Annotated[str, Field(min_length=1, max_length=100)]
"""A GitHub Discussion category's name, as the repository shows it."""
