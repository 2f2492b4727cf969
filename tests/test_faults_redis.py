"""Redis stops during the work phase of a docs run and comes back: the worker process keeps running (arq's
own poll loop would end it), and the run ends proposed with one plan comment, one PR and one push. Redis keeps
its data across the restart (an append-only file, as deploy/compose.yaml runs it)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.settings import Settings
from jobs.ledger import RunState
from tests.conftest import RedisServer
from tests.infra_fault_support import running

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

OUTAGE_SECONDS = 5.0


async def test_redis_stops_in_the_work_phase_and_the_run_still_proposes_once(
    settings: Settings, tmp_path: Path
) -> None:
    redis = RedisServer(tmp_path / "redis", persist=True)
    redis.workdir.mkdir()
    redis.start()
    try:
        settings = settings.model_copy(update={"redis_url": redis.url})
        with running(settings, tmp_path) as (scene, worker):
            await scene.ask_and_approve()
            redis.stop()
            await asyncio.sleep(OUTAGE_SECONDS)
            assert worker.alive(), scene.log.read_text()[-3000:]
            redis.start()
            run = await scene.ends()
            assert worker.alive(), scene.log.read_text()[-3000:]
        assert run.state == RunState.PROPOSED, (run.state, scene.log.read_text()[-3000:])
        scene.assert_one_proposal()
        said = scene.log.read_text()
        assert "Redis is unreachable" in said and "Redis answers again" in said
    finally:
        redis.stop()
