"""Redis stops at each step of a docs run after the plan (and during the plan itself) and comes back: the
worker is paused at the step by its failpoint (jobs/failpoints.py, `pause`), Redis is stopped, the step goes
on without it, Redis returns. Every case must end as tests/test_faults_redis.py's work-phase case does: the
worker alive, the run proposed once (one plan comment, one PR, one push), the outage seen in the log."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.settings import Settings
from jobs.ledger import RunState
from tests.conftest import RedisServer
from tests.infra_fault_support import running
from tests.worker_process import approve, ask_docs, plan_posted, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

OUTAGE_SECONDS = 5.0
STEPS = ("plan", "clone", "diff", "push", "pr", "status", "result")
"""The work phase is tests/test_faults_redis.py's case; the setup phase runs only when a repository asks."""


@pytest.mark.parametrize("step", STEPS)
async def test_redis_stops_at_the_step_and_the_run_still_proposes_once(
    settings: Settings, tmp_path: Path, step: str
) -> None:
    state = tmp_path / "failpoints"
    state.mkdir()
    redis = RedisServer(tmp_path / "redis", persist=True)
    redis.workdir.mkdir()
    redis.start()
    armed = {"STEWARD_FAILPOINTS": f"{step}=pause", "STEWARD_FAILPOINTS_STATE": str(state)}
    try:
        settings = settings.model_copy(update={"redis_url": redis.url})
        with running(settings, tmp_path, env=armed) as (scene, worker):

            async def outage() -> None:
                async def paused() -> bool:
                    return (state / f"{step}.paused").exists()

                await wait_for(paused, 120, f"the worker to pause at {step}")
                redis.stop()
                (state / f"{step}.go").touch()  # the step goes on while Redis is down
                await asyncio.sleep(OUTAGE_SECONDS)
                assert worker.alive(), scene.log.read_text()[-3000:]
                redis.start()

            await ask_docs(settings, 4001, "f1")
            if step == "plan":
                await outage()
            await wait_for(plan_posted(scene.github), 90, "the plan comment")
            await approve(settings, 4002, "f2")
            if step != "plan":
                await outage()
            run = await scene.ends(timeout=120)

            async def recovered() -> bool:  # its poll loop, or a job's end it recorded late, saw Redis again
                said = scene.log.read_text()
                return "Redis answers again" in said or "once Redis answered again" in said

            await wait_for(recovered, 60, "the worker to find Redis again")
            assert worker.alive(), scene.log.read_text()[-3000:]
        said = scene.log.read_text()
        assert run.state == RunState.PROPOSED, (run.state, said[-3000:])
        scene.assert_one_proposal()
        assert "Redis is unreachable" in said, said[-3000:]
    finally:
        redis.stop()
