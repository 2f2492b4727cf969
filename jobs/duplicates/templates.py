"""A repository's own issue and pull request templates, as the line keys the decision strips before comparing.

GitHub reads templates from the root, `.github/` and `docs/`: `ISSUE_TEMPLATE.md`, `PULL_REQUEST_TEMPLATE.md`
(any case, .md or .txt), and the `ISSUE_TEMPLATE/` and `PULL_REQUEST_TEMPLATE/` folders, whose issue forms are
YAML. An item opened from a template repeats its headings, checklists and comments, and issue forms render
each field as `### <label>`; two items that share only those lines are not duplicates. Templates are fetched
through the contents API (bounded in calls, files and bytes) and cached per repository for CACHE_TTL_SECONDS;
a missing template is the common case, and a hostile one (huge, binary, nested past reason) is skipped.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from typing import Any

import yaml

from app.config.yamlnodes import TooLarge, expanded_size
from app.github.errors import GitHubRefused, GitHubUnavailable
from app.github.protocol import DirEntry, GitHubClient, RepoId
from jobs.duplicates.decision import template_keys

log = logging.getLogger(__name__)

LOCATIONS = ("", ".github", "docs")
NAMES = ("issue_template", "pull_request_template")
"""File stems and folder names GitHub reads templates from (compared lowercased)."""
TEXT_SUFFIXES = (".md", ".markdown", ".txt")
FORM_SUFFIXES = (".yml", ".yaml")
MAX_FILES = 12
"""Template files read per repository; a real one has 1-6."""
MAX_FILE_BYTES = 32 * 1024
"""A bigger file is skipped unread (a real template is a few KiB)."""
MAX_KEYS = 2_000
"""Line keys kept per repository."""
MAX_NESTING = 32
"""Issue forms nest 4 levels; brackets or indentation deeper than this are not a form."""
MAX_FORM_NODES = 5_000
FORM_TEXT_KEYS = frozenset({"label", "description", "value", "placeholder", "options", "title", "name"})
"""Issue form attributes whose text ends up in (or next to) the rendered body."""
FORM_FILLERS = frozenset({"_no response_", "no response"})
"""What GitHub writes for an issue form field left empty."""
CACHE_TTL_SECONDS = 6 * 3600
"""Templates change rarely; a changed one is read again within this long."""
CACHE_PREFIX = "steward:dup-templates:"
MEMORY_ENTRIES = 256


def _suffix(name: str) -> str:
    lower = name.lower()
    return lower[lower.rfind(".") :] if "." in lower else ""


def _is_template_file(entry: DirEntry, in_folder: bool) -> bool:
    suffix = _suffix(entry.name)
    if entry.type != "file" or suffix not in (*TEXT_SUFFIXES, *FORM_SUFFIXES):
        return False
    if in_folder:
        return entry.name.lower() not in ("config.yml", "config.yaml")  # the chooser's settings, not a form
    return entry.name.lower()[: -len(suffix)] in NAMES and suffix in TEXT_SUFFIXES


async def _template_files(gh: GitHubClient, repo: RepoId) -> list[DirEntry]:
    """Template files of the repository, at most MAX_FILES, within MAX_FILE_BYTES each."""
    found: list[DirEntry] = []
    for location in LOCATIONS:
        for entry in sorted(await gh.list_directory(repo, location), key=lambda e: e.path):
            if entry.type == "dir" and entry.name.lower() in NAMES:
                found += [e for e in await gh.list_directory(repo, entry.path) if _is_template_file(e, True)]
            elif _is_template_file(entry, False):
                found.append(entry)
    small = [e for e in sorted(found, key=lambda e: e.path) if e.size <= MAX_FILE_BYTES]
    return small[:MAX_FILES]


def _nesting(text: str) -> int:
    """How deep brackets or indentation go (roughly: quotes are not skipped)."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
    indents = [len(line) - len(line.lstrip(" ")) for line in text.splitlines() if line.strip()]
    return max(deepest, max(indents, default=0) // 2)


def form_lines(text: str) -> list[str]:
    """The lines an issue form puts into an issue: its labels as `### label`, checkbox options as `- [ ]`,
    descriptions, placeholders and default values. [] for anything that is not a readable form."""
    if len(text) > MAX_FILE_BYTES or _nesting(text) > MAX_NESTING:
        return []
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if root is not None:
            expanded_size(root)
    except (yaml.YAMLError, TooLarge, RecursionError, ValueError):
        return []
    lines: list[str] = []
    stack: list[tuple[yaml.Node, str]] = [(root, "")] if root is not None else []
    seen = 0
    while stack and seen < MAX_FORM_NODES:
        node, key = stack.pop()
        seen += 1
        if isinstance(node, yaml.MappingNode):
            stack += [(v, str(k.value) if isinstance(k, yaml.ScalarNode) else "") for k, v in node.value]
        elif isinstance(node, yaml.SequenceNode):
            stack += [(v, key) for v in node.value]
        elif isinstance(node, yaml.ScalarNode) and key in FORM_TEXT_KEYS and isinstance(node.value, str):
            value = node.value
            lines += value.splitlines()
            if key == "label" and "\n" not in value:
                lines += [f"### {value}", f"- [ ] {value}", f"- [x] {value}"]
    return lines


def parse_template(name: str, text: str) -> frozenset[str]:
    """One template file as line keys: a Markdown template's lines, an issue form's rendered lines."""
    if "\x00" in text:
        return frozenset()
    if _suffix(name) in FORM_SUFFIXES:
        lines = form_lines(text)
        return template_keys("\n".join(lines)) | FORM_FILLERS if lines else frozenset()
    return template_keys(text[:MAX_FILE_BYTES])


async def fetch_templates(gh: GitHubClient, repo: RepoId) -> frozenset[str]:
    """Every template line of the repository (empty when it has none). GitHub's errors propagate."""
    keys: set[str] = set()
    for entry in await _template_files(gh, repo):
        file = await gh.get_file(repo, entry.path)  # None: gone since the listing, or not UTF-8 text
        if file is not None and len(file.text) <= MAX_FILE_BYTES:
            keys |= parse_template(entry.name, file.text)
        if len(keys) >= MAX_KEYS:
            break
    return frozenset(sorted(keys)[:MAX_KEYS])


_memory: OrderedDict[str, tuple[float, frozenset[str]]] = OrderedDict()


async def _cached(redis: Any, repo: str) -> frozenset[str] | None:
    if redis is not None:
        raw = await redis.get(CACHE_PREFIX + repo)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        return frozenset(str(k) for k in data) if isinstance(data, list) else None
    entry = _memory.get(repo)
    if entry is None or entry[0] < time.monotonic():
        return None
    return entry[1]


async def _store(redis: Any, repo: str, keys: frozenset[str], ttl: int) -> None:
    if redis is not None:
        await redis.set(CACHE_PREFIX + repo, json.dumps(sorted(keys)), ex=ttl)
        return
    _memory[repo] = (time.monotonic() + ttl, keys)
    _memory.move_to_end(repo)
    while len(_memory) > MEMORY_ENTRIES:
        _memory.popitem(last=False)


async def repo_templates(
    gh: GitHubClient, repo: RepoId, redis: Any = None, *, refresh: bool = False
) -> frozenset[str]:
    """The repository's template lines, from the cache (Redis when given, else this process) or GitHub.

    Never raises for GitHub's sake: templates only sharpen the decision. A refusal (no access) is cached as
    none; GitHub being unavailable gives none for now and is asked again next time.
    """
    if not refresh:
        cached = await _cached(redis, repo.full_name)
        if cached is not None:
            return cached
    try:
        keys = await fetch_templates(gh, repo)
    except GitHubRefused as exc:
        log.info("%s: templates not readable (%s); none used", repo.full_name, exc.status)
        keys = frozenset()
    except GitHubUnavailable as exc:
        log.info("%s: templates not fetched now (%s)", repo.full_name, exc)
        return frozenset()
    await _store(redis, repo.full_name, keys, CACHE_TTL_SECONDS)
    return keys
