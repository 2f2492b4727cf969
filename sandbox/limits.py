"""Resource limits of a sandbox: declared by a workflow's policy, narrowed by the repository's config."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_SIZE = re.compile(r"^(\d+)([kmg]?)b?$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
MIN_DISK = 16 * 1024**2
"""The smallest workspace quota: room for a small checkout and the filesystem's own bookkeeping."""


def parse_size(value: str | int) -> int:
    """'512m' -> bytes; ints pass through."""
    if isinstance(value, int):
        return value
    match = _SIZE.match(value.strip())
    if not match:
        raise ValueError(f"not a size: {value!r} (use e.g. 512m, 2g)")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


class Limits(BaseModel):
    """What one run may use. Every field narrows (a smaller value wins) when merged."""

    model_config = ConfigDict(extra="forbid")

    memory: int = Field(default=1024**3, gt=0)
    """Memory in bytes (swap is set equal, so there is no extra swap); accepts 512m, 2g."""
    cpus: float = Field(default=1.0, gt=0)
    """CPU cores."""
    pids: int = Field(default=256, gt=0)
    """Most processes and threads at once."""
    command_timeout: float = Field(default=300.0, gt=0)
    """Wall seconds for one command."""
    run_timeout: float = Field(default=1800.0, gt=0)
    """Wall seconds for the whole run."""
    output_bytes: int = Field(default=1024**2, gt=0)
    """Output kept per command; the rest is cut."""
    tmpfs_bytes: int = Field(default=256 * 1024**2, gt=0)
    """Size of each of /tmp and HOME (in memory)."""
    disk: int = Field(default=1024**3, ge=MIN_DISK)
    """Bytes the work tree (/workspace) may hold, checkout included; accepts 512m, 2g."""

    @field_validator("memory", "output_bytes", "tmpfs_bytes", "disk", mode="before")
    @classmethod
    def _sizes(cls, value: object) -> object:
        return parse_size(value) if isinstance(value, str) else value

    def narrowed_by(self, other: Limits | None) -> Limits:
        """The tighter of the two for every field."""
        if other is None:
            return self
        return Limits(
            **{name: min(getattr(self, name), getattr(other, name)) for name in Limits.model_fields}
        )
