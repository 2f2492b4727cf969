"""Parse `.github/steward.yml` into a RepoConfig, or into the defaults plus errors naming field and line."""

from __future__ import annotations

import logging
import re
from typing import Any

import yaml

from app.config import noise_record
from app.config.cache import ConfigCache, as_cache
from app.config.checks import semantic_problems
from app.config.messages import describe_error
from app.config.model import RepoConfig
from app.config.partial import validate_all
from app.config.result import ConfigIssue, ConfigResult
from app.config.yamlnodes import LineIndex, TooLarge, duplicate_keys, expanded_size, keys_as_text
from app.constants import CONFIG_PATH, MARKER_CONFIG_ERROR
from app.github.protocol import GitHubClient, RepoId
from app.github.untrusted import code_span, message

__all__ = ["ConfigIssue", "ConfigResult", "load_repo_config", "parse_config", "render_config_errors"]

log = logging.getLogger(__name__)

MAX_CONFIG_BYTES = 64 * 1024
"""The largest configuration file read; a real one is a few hundred bytes."""
MAX_FLOW_DEPTH = 64
"""Nesting of flow collections accepted; a real configuration nests three or four levels."""
MAX_ERROR_ROWS = 100
"""Errors listed in the comment; past them it says how many more (`steward config validate` lists all)."""
REFERENCE = (
    "the configuration reference (`steward config docs`, docs/configuration.md in Steward's repository)"
)


HIDDEN_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")
"""Characters YAML (1.1, PyYAML) ends a line at and git, GitHub's diff and most editors do not: what follows
one reads to YAML as a line of its own that a reviewer does not see (a setting hidden in a comment's line)."""
_BREAK_NAMES = {
    "\r": "a carriage return (U+000D) without a line feed after it",
    "\x85": "a next-line character (U+0085)",
    "\u2028": "a line separator (U+2028)",
    "\u2029": "a paragraph separator (U+2029)",
}


def git_line(text: str, position: int) -> int:
    """The 1-based line of a character as git counts lines: by line feeds only."""
    return text.count("\n", 0, position) + 1


def _hidden_break(text: str, sha: str | None) -> ConfigResult | None:
    """The refusal of a file holding a line break only YAML sees, naming its first line (git's count)."""
    found = HIDDEN_BREAKS.search(text)
    if found is None:
        return None
    line = git_line(text, found.start())
    more = len(HIDDEN_BREAKS.findall(text)) - 1
    return _failed(
        f"line {line} holds {_BREAK_NAMES[found.group()]}: YAML ends a line there, git and GitHub do not, "
        "so what follows it would be read as a line a reviewer does not see; use plain line breaks"
        + (f" ({more:,} more such {'character' if more == 1 else 'characters'} in the file)" if more else ""),
        line,
        sha,
    )


def _dotted(location: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def _failed(message: str, line: int | None, sha: str | None, field_name: str = "(file)") -> ConfigResult:
    return ConfigResult(RepoConfig(), [ConfigIssue(field_name, line, message)], sha)


def _flow_depth(text: str) -> int:
    """How deep `[` and `{` nest (roughly: quotes are not skipped); PyYAML is slow to give up on deep ones."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
    return deepest


def _compose(text: str, sha: str | None) -> tuple[yaml.Node | None, ConfigResult | None]:
    """The document's node tree, or the result that explains why there is none."""
    if len(text.encode("utf-8", errors="replace")) > MAX_CONFIG_BYTES:
        return None, _failed(f"the file is larger than {MAX_CONFIG_BYTES // 1024} KiB", None, sha)
    if _flow_depth(text) > MAX_FLOW_DEPTH:
        return None, _failed(f"brackets nest deeper than {MAX_FLOW_DEPTH} levels", None, sha)
    hidden = _hidden_break(text, sha)
    if hidden is not None:
        return None, hidden
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if root is not None:
            expanded_size(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem += f" {exc.context}"
            # At the end of the file the problem mark points past it; where the open thing began helps more.
            if "end of stream" in problem and exc.context_mark is not None:
                mark = exc.context_mark
        return None, _failed(f"invalid YAML: {problem}", mark.line + 1 if mark else None, sha)
    except yaml.reader.ReaderError as exc:  # a control character: PyYAML gives its place, not its line
        line = git_line(text, exc.position)
        said = f"line {line} holds the control character U+{exc.character:04X}, which YAML does not allow"
        return None, _failed(said, line, sha)
    except (yaml.YAMLError, TooLarge, RecursionError, ValueError) as exc:
        message = str(exc) if isinstance(exc, TooLarge) else "invalid YAML (nested too deeply or malformed)"
        return None, _failed(message, None, sha)
    return root, None


def parse_config(text: str, source_sha: str | None = None) -> ConfigResult:
    """Never raises: a bad file gives the defaults plus errors; settings that would widen a policy keep the
    file's configuration (the policy ignores them) but are errors too, so writing work is refused."""
    root, failure = _compose(text, source_sha)
    if failure is not None:
        return failure
    if root is None:
        return ConfigResult(source_sha=source_sha)
    keys_as_text(root)
    try:
        data: Any = yaml.SafeLoader(text).construct_document(root)
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as exc:
        return _failed(f"invalid YAML: {exc}", root.start_mark.line + 1, source_sha)
    if data is None:
        return ConfigResult(source_sha=source_sha)
    if not isinstance(data, dict):
        return _failed(
            "the top level must be a mapping of keys to values", root.start_mark.line + 1, source_sha
        )
    config, type_errors = validate_all(data)
    lines = LineIndex(root)
    issues = [
        ConfigIssue(_dotted(err["loc"]), lines.line(err["loc"]), describe_error(err)) for err in type_errors
    ]
    issues += [
        ConfigIssue(f, line, f"`{f.rsplit('.', 1)[-1]}` is given twice") for f, line in duplicate_keys(root)
    ]
    # Policy problems of what is left once invalid values are dropped: all errors come in one pass.
    issues += [ConfigIssue(f, lines.line(_split(f)), m) for f, m in semantic_problems(config)]
    issues.sort(key=lambda issue: (issue.line or 0, issue.field))
    # A type error anywhere: the defaults (the file cannot be trusted); policy problems alone keep the file's.
    return ConfigResult(RepoConfig() if type_errors else config, issues, source_sha)


def _split(dotted: str) -> list[str | int]:
    return [int(part) if part.isdigit() else part for part in dotted.split(".")]


def render_config_errors(result: ConfigResult) -> str:
    """The comment Steward posts about an invalid configuration (with its hidden marker)."""
    where = f"`{CONFIG_PATH}`" + (f" (blob `{result.source_sha[:7]}`)" if result.source_sha else "")
    rows = [
        f"| {_cell(code_span(e.field))} | {'-' if e.line is None else e.line} | {_cell(message(e.message))} |"
        for e in result.errors[:MAX_ERROR_ROWS]
    ]
    more = len(result.errors) - len(rows)
    if more > 0:
        rows += [
            "",
            f"…and {more:,} more problems, not listed here: `steward config validate FILE` lists all.",
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


def _cell(markdown: str) -> str:
    """Markdown inside a table cell: GFM splits cells at a pipe even inside code, and a code span cut open
    there shows what it quoted (`@team`, `<img>`) live; an escaped pipe never splits, in code or not, and
    GFM drops the one backslash it adds."""
    return markdown.replace("|", "\\|")


async def load_repo_config(
    gh: GitHubClient, repo: RepoId, cache: ConfigCache | Any | None = None
) -> ConfigResult:
    """The repository's configuration from its default branch (defaults when there is no file).

    `cache` may be a ConfigCache, a Redis client or None (the process's LRU). GitHub errors propagate (the job
    retries them); a bad file never raises, it comes back with errors.
    """
    result = await _load(gh, repo, cache)
    if _is_redis(cache):  # the worker: the dashboard's Health page shows the limits it found
        await noise_record.record(cache, repo.full_name, result.config.noise, noise_record.source_of(result))
    return result


def _is_redis(cache: ConfigCache | Any | None) -> bool:
    return cache is not None and not hasattr(cache, "put")


async def _load(gh: GitHubClient, repo: RepoId, cache: ConfigCache | Any | None) -> ConfigResult:
    file = await gh.get_file(repo, CONFIG_PATH)
    if file is None:
        return ConfigResult()
    store = as_cache(cache) if file.sha else None
    if store is not None:
        cached = await store.get(file.sha)
        if cached is not None:
            return cached
    result = parse_config(file.text, source_sha=file.sha or None)
    if result.errors:
        log.info("%s: %s has %d errors", repo.full_name, CONFIG_PATH, len(result.errors))
    if store is not None:
        await store.put(file.sha, result)
    return result
