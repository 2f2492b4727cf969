"""What reading `.github/steward.yml` gives: the configuration to use and what was wrong with the file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from app.config.model import RepoConfig


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in the file: where (dotted field, 1-based line) and what."""

    field: str
    line: int | None
    message: str

    def located(self, path: str) -> str:
        """`path:line: field: message`, as compilers write it (the line left out when unknown)."""
        line = f":{self.line}" if self.line is not None else ""
        return f"{path}{line}: {self.field}: {self.message}"


@dataclass
class ConfigResult:
    """The configuration to use, and what was wrong with the file (if anything)."""

    config: RepoConfig = field(default_factory=RepoConfig)
    errors: list[ConfigIssue] = field(default_factory=list)
    source_sha: str | None = None

    @property
    def writable_ok(self) -> bool:
        """Work that writes runs only under a configuration without errors."""
        return not self.errors

    def to_json(self) -> str:
        return json.dumps(
            {
                "config": self.config.model_dump(mode="json", by_alias=True),
                "errors": [[e.field, e.line, e.message] for e in self.errors],
                "source_sha": self.source_sha,
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> ConfigResult:
        data = json.loads(text)
        return cls(
            config=RepoConfig.model_validate(data["config"]),
            errors=[ConfigIssue(f, line, m) for f, line, m in data["errors"]],
            source_sha=data["source_sha"],
        )
