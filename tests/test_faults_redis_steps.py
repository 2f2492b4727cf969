"""Redis stops at each step of a docs run but the work phase (tests/test_faults_redis.py's case) and comes
back: the worker is paused at the step by its failpoint, Redis is stopped, the step goes on without it,
Redis returns (tests/infra_fault_support.py's `at_step`). Every case must end as the work-phase case does:
the worker alive, the run proposed once (one plan comment, one PR, one push), the outage seen in the log. The
setup case's repository asks for an install step (the setup phase runs only then)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.settings import Settings
from tests.conftest import RedisServer
from tests.infra_fault_support import STEPS, Outage, Scene, at_step

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

OUTAGE_SECONDS = 5.0


async def found_again(scene: Scene) -> bool:
    """The worker's poll loop, or a job's end it recorded late, saw Redis again."""
    said = scene.log.read_text()
    return "Redis answers again" in said or "once Redis answered again" in said


@pytest.mark.parametrize("step", STEPS)
async def test_redis_stops_at_the_step_and_the_run_still_proposes_once(
    settings: Settings, tmp_path: Path, step: str
) -> None:
    redis = RedisServer(tmp_path / "redis", persist=True)
    redis.workdir.mkdir()
    redis.start()

    async def cut() -> None:
        await asyncio.to_thread(redis.stop)

    async def mend() -> None:
        await asyncio.to_thread(redis.start)

    outage = Outage(cut, mend, OUTAGE_SECONDS, "Redis is unreachable", settled=found_again)
    try:
        await at_step(settings.model_copy(update={"redis_url": redis.url}), tmp_path, step, outage)
    finally:
        redis.stop()
