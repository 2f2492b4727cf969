"""Parse `.github/steward.yml` into a RepoConfig, or into the defaults plus errors that name field and line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from app.config.checks import semantic_problems
from app.config.messages import describe_error
from app.config.model import RepoConfig
from app.config.yamlnodes import TooLarge, expanded_size, line_of
from app.constants import CONFIG_PATH, MARKER_CONFIG_ERROR

MAX_CONFIG_BYTES = 64 * 1024
"""The largest configuration file read; a real one is a few hundred bytes."""
REFERENCE = "the configuration reference (`steward config docs`, docs/configuration.md in Steward's repository)"


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in the file: where (dotted field, 1-based line) and what."""

    field: str
    line: int | None
    message: str


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


def _dotted(location: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def _failed(message: str, line: int | None, sha: str | None, field_name: str = "(file)") -> ConfigResult:
    return ConfigResult(RepoConfig(), [ConfigIssue(field_name, line, message)], sha)


def _compose(text: str, sha: str | None) -> tuple[yaml.Node | None, ConfigResult | None]:
    """The document's node tree, or the result that explains why there is none."""
    if len(text.encode("utf-8", errors="replace")) > MAX_CONFIG_BYTES:
        return None, _failed(f"the file is larger than {MAX_CONFIG_BYTES // 1024} KiB", None, sha)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if root is not None:
            expanded_size(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        return None, _failed(f"invalid YAML: {problem}", mark.line + 1 if mark else None, sha)
    except (yaml.YAMLError, TooLarge, RecursionError, ValueError) as exc:
        message = str(exc) if isinstance(exc, TooLarge) else "invalid YAML (nested too deeply or malformed)"
        return None, _failed(message, None, sha)
    return root, None


def parse_config(text: str, source_sha: str | None = None) -> ConfigResult:
    """Never raises: a bad file gives the defaults plus errors; problems that only widen policies keep the file."""
    root, failure = _compose(text, source_sha)
    if failure is not None:
        return failure
    if root is None:
        return ConfigResult(source_sha=source_sha)
    try:
        data: Any = yaml.SafeLoader(text).construct_document(root)
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as exc:
        return _failed(f"invalid YAML: {exc}", root.start_mark.line + 1, source_sha)
    if not isinstance(data, dict):
        return _failed("the top level must be a mapping of keys to values", root.start_mark.line + 1, source_sha)
    try:
        config = RepoConfig.model_validate(data)
    except ValidationError as exc:
        issues = [
            ConfigIssue(_dotted(err["loc"]), line_of(root, err["loc"]), describe_error(err))
            for err in exc.errors(include_url=False)
        ]
        return ConfigResult(RepoConfig(), issues, source_sha)
    problems = [ConfigIssue(f, line_of(root, _split(f)), m) for f, m in semantic_problems(config)]
    return ConfigResult(config, problems, source_sha)


def _split(dotted: str) -> list[str | int]:
    return [int(part) if part.isdigit() else part for part in dotted.split(".")]


def render_config_errors(result: ConfigResult) -> str:
    """The comment Steward posts about an invalid configuration (with its hidden marker)."""
    where = f"`{CONFIG_PATH}`" + (f" (blob `{result.source_sha[:7]}`)" if result.source_sha else "")
    rows = [
        f"| `{issue.field}` | {issue.line if issue.line is not None else '-'} | {_cell(issue.message)} |"
        for issue in result.errors
    ]
    return "\n".join(
        [
            MARKER_CONFIG_ERROR,
            f"**Steward cannot use {where} as written.**",
            "",
            "| field | line | problem |",
            "| --- | --- | --- |",
            *rows,
            "",
            "Until the file is fixed, Steward falls back to its defaults for read-only work (help, status, "
            "duplicate triage) and refuses work that writes (docs, tests). "
            f"Every key is described in {REFERENCE}; `steward config validate FILE` checks a file locally.",
        ]
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
