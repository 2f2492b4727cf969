"""Sizes and durations as people write them (64 GiB, 10 min), for messages about limits."""

from __future__ import annotations

import typing

from app.config.model import LimitsOverride
from app.config.types import Duration, Size

_BYTE_UNITS = (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024))
_TIME_UNITS = (("h", 3600), ("min", 60), ("s", 1))


def show_bytes(count: int) -> str:
    for unit, size in _BYTE_UNITS:
        if count >= size:
            value = count / size
            return f"{value:.0f} {unit}" if value.is_integer() else f"{value:.1f} {unit}"
    return f"{count} bytes"


def show_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g} s"
    parts = []
    left = round(seconds)
    for unit, size in _TIME_UNITS:
        if left >= size:
            parts.append(f"{left // size} {unit}")
            left %= size
    return " ".join(parts)


def show_limit(name: str, value: float) -> str:
    """A limit's value in the unit its field is written in (a size in bytes, a duration in seconds)."""
    info = LimitsOverride.model_fields.get(name)
    kinds = typing.get_args(info.annotation) if info is not None else ()
    if Size in kinds:
        return show_bytes(int(value))
    if Duration in kinds:
        return show_seconds(float(value))
    return f"{value:g}"
