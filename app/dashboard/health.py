"""The dashboard's health figures: the arq queue, the workers' heartbeats, noise-budget use per repository."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from arq.constants import default_queue_name, in_progress_key_prefix
from redis.exceptions import RedisError

from app.config import noise_record
from app.config.model import NoiseLimits
from app.constants import RUNNING_JOBS_KEY, WORKER_HEARTBEAT_PREFIX
from jobs.comment_count import comments_this_hour
from jobs.ledger import Ledger
from jobs.ledger.browse import RunFilter
from jobs.ledger.views import utcnow

DEFAULTS_UNSEEN = "defaults (no worker has loaded its configuration this week)"
SCAN_MAX = 1000
"""Keys read per scan: a health page stays bounded however busy the queue is."""


@dataclass(frozen=True)
class Worker:
    id: str
    expires_in: float
    jobs: list[str]


@dataclass(frozen=True)
class Queue:
    reachable: bool
    queued: int = 0
    in_progress: list[str] | None = None
    workers: list[Worker] | None = None


@dataclass(frozen=True)
class Noise:
    repo: str
    runs_today: int
    runs_per_day: int
    open_prs: int
    max_open_prs: int
    comments_hour: int | None
    comments_per_hour: int
    limits_from: str
    """Where the limits come from: the repository's file as a worker last loaded it, or the defaults."""


async def _keys(redis: Any, pattern: str) -> list[str]:
    found: list[str] = []
    async for key in redis.scan_iter(match=pattern, count=200):
        found.append(key.decode() if isinstance(key, bytes) else str(key))
        if len(found) >= SCAN_MAX:
            break
    return sorted(found)


async def queue(redis: Any | None) -> Queue:
    """Jobs waiting and running, and the workers whose heartbeat is alive (and which jobs each runs)."""
    if redis is None:
        return Queue(reachable=False)
    try:
        queued = int(await redis.zcard(default_queue_name))
        running = [
            key.removeprefix(in_progress_key_prefix)
            for key in await _keys(redis, in_progress_key_prefix + "*")
        ]
        owners = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in (await redis.hgetall(RUNNING_JOBS_KEY)).items()
        }
        workers = []
        for key in await _keys(redis, WORKER_HEARTBEAT_PREFIX + "*"):
            worker_id = key.removeprefix(WORKER_HEARTBEAT_PREFIX)
            ttl = int(await redis.pttl(key))
            jobs = sorted(job for job, owner in owners.items() if owner == worker_id)
            workers.append(Worker(worker_id, max(ttl, 0) / 1000, jobs))
    except (RedisError, OSError):
        return Queue(reachable=False)
    return Queue(True, queued, running, workers)


async def _recorded(redis: Any | None, repos: list[str]) -> dict[str, noise_record.Recorded]:
    if redis is None:
        return {}
    try:
        return await noise_record.recorded(redis, repos)
    except (RedisError, OSError):
        return {}


async def noise(ledger: Ledger, redis: Any | None) -> list[Noise]:
    """Each repository with runs in the last day, against its own `noise:` limits as a worker last loaded
    them (app/config/noise_record.py), or the defaults, labelled so, where none were recorded."""
    since = utcnow() - timedelta(days=1)
    runs, _ = await ledger.page_runs(RunFilter(since=since), limit=500)
    repos = sorted({run.repo for run in runs if not run.repo.startswith("local:")})[:100]
    known = await _recorded(redis, repos)
    found = []
    for repo in repos:
        counts = await ledger.noise_counts(repo)
        comments = None
        if redis is not None:
            try:
                comments = await comments_this_hour(redis, repo)
            except (RedisError, OSError):
                comments = None
        seen = known.get(repo)
        limits, source = (seen.limits, seen.source) if seen else (NoiseLimits(), DEFAULTS_UNSEEN)
        found.append(
            Noise(repo, counts.runs_in_window, limits.runs_per_day, counts.open_proposed, limits.max_open_prs,
                  comments, limits.comments_per_hour, source)
        )  # fmt: skip
    return found
