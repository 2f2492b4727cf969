"""Each repository's effective `noise:` limits, kept in Redis where a worker loads its configuration, so the
dashboard's Health page shows them without fetching a configuration from GitHub on a page view."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.config.model import NoiseLimits
from app.config.result import ConfigResult
from app.constants import NOISE_LIMITS_PREFIX

log = logging.getLogger(__name__)

NOISE_LIMITS_TTL_SECONDS = 7 * 24 * 3600
"""One small key per repository, gone a week after its configuration was last loaded: Redis stays bounded."""
FROM_FILE = "file"
FROM_FILE_WITH_ERRORS = "file with errors"
"""The file has errors: the limits are what the worker applies all the same (valid parts, else defaults)."""
FROM_DEFAULTS = "defaults (no file)"
"""The repository has no `.github/steward.yml`: the defaults apply there."""


@dataclass(frozen=True)
class Recorded:
    limits: NoiseLimits
    source: str
    """FROM_FILE, FROM_FILE_WITH_ERRORS or FROM_DEFAULTS, as the worker found it."""


def source_of(result: ConfigResult) -> str:
    if result.source_sha is None:
        return FROM_DEFAULTS
    return FROM_FILE_WITH_ERRORS if result.errors else FROM_FILE


def key(repo: str) -> str:
    return NOISE_LIMITS_PREFIX + repo.lower()


async def record(redis: Any, repo: str, limits: NoiseLimits, source: str) -> None:
    """Keep the limits a worker just loaded; a Redis failure only costs the dashboard this figure."""
    from redis.exceptions import RedisError  # here: the command line reads configurations without Redis

    body = json.dumps({"source": source, "limits": limits.model_dump(mode="json")})
    try:
        await redis.set(key(repo), body, ex=NOISE_LIMITS_TTL_SECONDS)
    except (RedisError, OSError) as exc:
        log.info("%s: noise limits not recorded for the dashboard (%s)", repo, type(exc).__name__)


async def recorded(redis: Any, repos: Sequence[str]) -> dict[str, Recorded]:
    """The limits recorded for these repositories (one MGET); unrecorded or unreadable ones are absent."""
    if not repos:
        return {}
    raws = await redis.mget([key(repo) for repo in repos])
    found: dict[str, Recorded] = {}
    for repo, raw in zip(repos, raws, strict=True):
        if raw is None:
            continue
        try:
            data = json.loads(raw)
            found[repo] = Recorded(NoiseLimits.model_validate(data["limits"]), str(data["source"]))
        except (ValueError, KeyError, TypeError, ValidationError):
            continue  # written by another version, or damaged: the defaults show, labelled as such
    return found
