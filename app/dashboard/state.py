"""What the dashboard holds while `steward serve` runs: settings, sessions, templates, ledger, Redis."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app.dashboard.session import Sessions
from app.settings import Settings
from jobs.ledger import Ledger
from jobs.ledger.render import format_age, format_cost, format_limits, format_seconds
from jobs.ledger.roles import requester

HERE = Path(__file__).parent
REDIS_TIMEOUT_SECONDS = 3
CHOICES_SECONDS = 60.0
"""How long the filters' choices (repositories, workflows, engines seen) are reused before read again."""


def _pretty(value: Any) -> str:
    """Tool arguments as readable JSON text (autoescape makes it safe to show, like any other text)."""
    return json.dumps(value, indent=1, ensure_ascii=False, default=str)


def templates() -> Environment:
    """Jinja2 with autoescape on for every template: run titles, diffs and tool output are hostile."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip
    env.filters.update(age=format_age, cost=format_cost, limits=format_limits, seconds=format_seconds,
                       pretty=_pretty, requester=requester)  # fmt: skip
    return env


class Dashboard:
    """Opens the ledger and Redis on first use, so `serve` starts while either is down."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sessions = Sessions(settings)
        self.env = templates()
        self._ledger: Ledger | None = None
        self._redis: Any = None
        self._lock = asyncio.Lock()
        self._choices: tuple[float, dict[str, list[str]]] | None = None

    async def ledger(self) -> Ledger:
        async with self._lock:
            if self._ledger is None:
                self._ledger = await Ledger.connect(self.settings.db_url)
            return self._ledger

    async def choices(self) -> dict[str, list[str]]:
        """The values the run list's filters offer: a scan of the runs, so read once a minute at most."""
        now = time.monotonic()
        if self._choices is None or now - self._choices[0] > CHOICES_SECONDS:
            ledger = await self.ledger()
            self._choices = (
                now,
                {name: await ledger.distinct(name) for name in ("repo", "workflow", "engine")},
            )
        return self._choices[1]

    async def redis(self) -> Any:
        """The arq pool (it enqueues retries and reads the queue), or None while Redis is unreachable."""
        from arq.connections import RedisSettings, create_pool
        from redis.exceptions import RedisError

        async with self._lock:
            if self._redis is None:
                where = replace(
                    RedisSettings.from_dsn(self.settings.redis_url),
                    conn_retries=0, conn_timeout=REDIS_TIMEOUT_SECONDS,
                )  # fmt: skip
                try:
                    self._redis = await asyncio.wait_for(create_pool(where), REDIS_TIMEOUT_SECONDS * 2)
                except (RedisError, OSError, TimeoutError):
                    return None
            return self._redis

    async def close(self) -> None:
        if self._ledger is not None:
            await self._ledger.close()
        if self._redis is not None:
            await self._redis.aclose()
