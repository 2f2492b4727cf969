"""A run is stopped, and nothing is pushed, when its diff leaves the docs paths or someone cancels it."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import docker
import pytest
import respx
from arq.worker import Worker

from app.settings import Settings
from jobs.ledger import RunState
from jobs.worker import worker_settings
from sandbox.labels import RUN_LABEL
from tests.github_mock import API
from tests.run_fixtures import (
    APPROVER,
    BRANCH,
    MAINTAINER,
    REPO_ID,
    FakeRunGitHub,
    comment_event,
    fake_github,
    make_remote,
    runs,
    say,
    trace_of,
)
from tests.sandbox_fixtures import docker_client, sandbox_image  # noqa: F401
from tests.worker_support import FAST_CTX, enqueue

pytestmark = [pytest.mark.anyio, pytest.mark.docker]


def _writer(path: str) -> str:
    """An exec command that quietly writes `path` (outside the docs paths) and prints something harmless."""
    folder = path.rsplit("/", 1)[0]
    code = f"import os; os.makedirs('{folder}', exist_ok=True); open('{path}', 'w').write('x'); print('ok')"
    return f'python3 -c "{code}"'


ESCAPES = {path: _writer(path) for path in ("src/x.py", ".github/workflows/ci.yml")}
SLOW = 'python3 -c "import time; time.sleep(120)"'


def block(command: str) -> str:
    return f"# Generated\n\n<!-- steward:exec {command} -->\n```\nold\n```\n<!-- /steward:exec -->\n"


def install(github: FakeRunGitHub) -> respx.MockRouter:
    router = respx.mock(base_url=API, assert_all_called=False)
    github.install(router)
    return router


@pytest.mark.parametrize("outside", sorted(ESCAPES))
async def test_exec_block_writing_outside_the_docs_paths_is_refused_and_nothing_pushed(
    settings: Settings, tmp_path: Path, outside: str
) -> None:
    remote = make_remote(tmp_path, {"docs/generated.md": block(ESCAPES[outside])})
    github = fake_github(remote)
    with install(github):
        await say(settings, "/steward docs", MAINTAINER, 3001)
        await say(settings, "/steward approve", APPROVER, 3002)
    (run,) = await runs(settings)
    assert run.state == RunState.FAILED
    assert remote.sha(BRANCH) is None and not github.pulls
    told = [body for body in github.bot_comments(7) if "steward:run-result" in body]
    assert len(told) == 1 and outside in told[0] and "nothing was pushed" in told[0]
    (plan,) = github.plan_comments()
    assert "state **failed**" in plan["body"]
    trace = await trace_of(settings, run.id)
    assert trace.transitions[-1].to_state == RunState.FAILED
    assert trace.transitions[-1].reason == "the diff was refused by the docs policy"


def _containers(run_id: str) -> list[object]:
    client = docker.from_env()
    try:
        return list(
            client.containers.list(all=True, ignore_removed=True, filters={"label": f"{RUN_LABEL}={run_id}"})
        )
    finally:
        client.close()


async def _until(check, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.2)
    return False


async def test_cancel_during_a_long_step_kills_the_sandbox_and_pushes_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    remote = make_remote(tmp_path, {"docs/slow.md": block(SLOW)})
    github = fake_github(remote)
    with install(github):
        worker = Worker(
            **worker_settings(settings, ctx=dict(FAST_CTX)), poll_delay=0.05, handle_signals=False
        )
        task = asyncio.create_task(worker.async_run())
        try:
            for cid, body in ((3101, "/steward docs"), (3102, "/steward approve")):
                if cid == 3102:
                    assert await _until(lambda: _has_plan(github), 30)
                event = comment_event(body, MAINTAINER if cid == 3101 else APPROVER, cid)
                await enqueue(
                    settings, "handle_comment", f"comment:{REPO_ID}:{cid}", delivery_id=f"d{cid}", event=event
                )
            (run,) = await runs(settings)

            async def slow_step_running() -> bool:
                steps = (await trace_of(settings, run.id)).steps
                started = any("time.sleep(120)" in step.command for step in steps)
                return started and bool(await asyncio.to_thread(_containers, run.id))

            assert await _until(slow_step_running, 60), "the long step never started in the sandbox"
            started = time.monotonic()
            event = comment_event("/steward cancel", MAINTAINER, 3103)
            await enqueue(
                settings, "handle_comment", f"comment:{REPO_ID}:3103", delivery_id="d3103", event=event
            )

            async def sandbox_gone() -> bool:
                return not await asyncio.to_thread(_containers, run.id)

            assert await _until(sandbox_gone, 30), "the sandbox outlived the cancel"
            assert time.monotonic() - started < 60  # long before the 120 s step would have ended
            assert await _until(lambda: _state_is(settings, RunState.CANCELLED), 10)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await worker.close()
    assert remote.sha(BRANCH) is None and not github.pulls
    trace = await trace_of(settings, run.id)
    assert trace.transitions[-1].to_state == RunState.CANCELLED and trace.transitions[-1].actor == MAINTAINER
    (slow,) = [step for step in trace.steps if "time.sleep(120)" in step.command]
    assert slow.exit_code is None and slow.kill_reason == "aborted: CancelledError"


async def _has_plan(github: FakeRunGitHub) -> bool:
    return bool(github.plan_comments())


async def _state_is(settings: Settings, state: RunState) -> bool:
    (run,) = await runs(settings)
    return run.state == state


async def test_a_missing_sandbox_image_fails_the_run_and_says_how_to_fix_it(
    settings: Settings, tmp_path: Path
) -> None:
    remote = make_remote(tmp_path)
    github = fake_github(remote)
    github.files[".github/steward.yml"] += "setup:\n  image: steward-sandbox:not-built\n"
    settings = settings.model_copy(update={"sandbox_images": ["steward-sandbox:not-built"]})  # allowed
    with install(github):
        await say(settings, "/steward docs", MAINTAINER, 3201)
        await say(settings, "/steward approve", APPROVER, 3202)
    (run,) = await runs(settings)
    assert run.state == RunState.FAILED and remote.sha(BRANCH) is None
    (told,) = [body for body in github.bot_comments(7) if "steward:run-result" in body]
    assert (
        "steward-sandbox:not-built" in told and "steward sandbox build" in told and "/steward retry" in told
    )


async def test_an_image_the_operator_did_not_allow_fails_the_run_before_any_sandbox(
    settings: Settings,
    tmp_path: Path,
    docker_client: docker.DockerClient,  # noqa: F811
    sandbox_image: str,  # noqa: F811
) -> None:
    leaky = f"steward-test-leaky:{uuid.uuid4().hex[:8]}"  # on the Docker host, like the image with a secret
    docker_client.images.get(sandbox_image).tag(leaky)
    try:
        remote = make_remote(tmp_path)
        github = fake_github(remote)
        github.files[".github/steward.yml"] += f"setup:\n  image: {leaky}\n"
        with install(github):
            await say(settings, "/steward docs", MAINTAINER, 3301)
            await say(settings, "/steward approve", APPROVER, 3302)
    finally:
        docker_client.api.remove_image(leaky, noprune=True)  # the tag only; the image stays
    (run,) = await runs(settings)
    assert run.state == RunState.FAILED and remote.sha(BRANCH) is None and not github.pulls
    assert run.sandbox_image is None  # no sandbox was made
    trace = await trace_of(settings, run.id)
    assert not [step for step in trace.steps if step.name in ("clone", "exec")]
    (told,) = [body for body in github.bot_comments(7) if "steward:run-result" in body]
    assert f"`{leaky}`" in told and f"`{settings.sandbox_image}`" in told and "STEWARD_SANDBOX_IMAGES" in told


async def test_an_exec_block_filling_the_disk_is_stopped_by_the_repositorys_disk_limit(
    settings: Settings, tmp_path: Path
) -> None:
    fill = "python3 -c \"open('fill.bin', 'wb').write(bytes(100 * 1024 * 1024))\""
    remote = make_remote(tmp_path, {"docs/generated.md": block(fill)})
    github = fake_github(remote)
    github.files[".github/steward.yml"] += "    limits:\n      disk: 32m\n"  # under workflows.docs
    with install(github):
        await say(settings, "/steward docs", MAINTAINER, 3401)
        await say(settings, "/steward approve", APPROVER, 3402)
    (run,) = await runs(settings)
    assert run.limits["disk"] == 32 * 1024**2
    trace = await trace_of(settings, run.id)
    (filled,) = [step for step in trace.steps if "fill.bin" in step.command]
    assert filled.kill_reason is not None and filled.kill_reason.startswith("disk:")
    assert "32 MiB" in filled.kill_reason and "limits.disk" in filled.kill_reason
    pushed = remote.sha(BRANCH)
    assert pushed is None or "fill.bin" not in remote.files_changed("main", BRANCH)
