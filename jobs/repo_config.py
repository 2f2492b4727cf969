"""The repository's `.github/steward.yml` for a job: read from the default branch, parsed once per blob."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from app.config.loader import ConfigResult, parse_config
from app.constants import CONFIG_CACHE_PREFIX, CONFIG_PATH
from app.github.protocol import GitHubClient, RepoId

log = logging.getLogger(__name__)

CONFIG_CACHE_TTL = 7 * 24 * 3600
"""A parsed configuration is keyed by its blob sha, so it never goes stale; the TTL only bounds memory."""


async def load_config(gh: GitHubClient, repo: RepoId, redis: Any = None) -> ConfigResult:
    """The configuration to use (defaults when the file is absent) and the file's errors, if any."""
    loader = getattr(importlib.import_module("app.config.loader"), "load_repo_config", None)
    if loader is not None:  # app.config's own loader, once it offers one, takes precedence
        result: ConfigResult = await loader(gh, repo, redis)
        return result
    found = await gh.get_file(repo, CONFIG_PATH)
    if found is None:
        return ConfigResult()
    key = CONFIG_CACHE_PREFIX + found.sha
    if redis is not None and found.sha:
        cached = await redis.get(key)
        if cached:
            return ConfigResult.from_json(cached)
    result = parse_config(found.text, found.sha)
    if redis is not None and found.sha:
        await redis.set(key, result.to_json(), ex=CONFIG_CACHE_TTL)
    if result.errors:
        log.info("%s: %s has %d errors", repo.full_name, CONFIG_PATH, len(result.errors))
    return result
