"""`steward deliver` signs a saved payload like GitHub and `steward serve` receives it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from app.settings import Settings
from app.web.app import create_app
from app.web.cli import register
from tests.conftest import WEBHOOK_EXAMPLES, WEBHOOK_SECRET, command_comment, free_port
from tests.test_webhook_support import live_server, queued_job_ids

STEWARD = Path(sys.executable).parent / "steward"


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture(scope="module")
def comment_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved issue_comment delivery whose comment holds a command, as an operator would replay one."""
    path = tmp_path_factory.mktemp("payloads") / "comment.json"
    path.write_text(json.dumps(command_comment()))
    return path


def deliver(file: Path, url: str, secret: str | None, *extra: str) -> tuple[int, str]:
    env = {"STEWARD_WEBHOOK_SECRET": secret} if secret is not None else {}
    args = ["deliver", str(file), "--event", "issue_comment", "--url", url, *extra]
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("STEWARD_WEBHOOK_SECRET", raising=False)
        result = CliRunner().invoke(cli(), args, env=env)
    return result.exit_code, result.output


def test_deliver_posts_a_signed_payload(settings: Settings, redis_url: str, comment_file: Path) -> None:
    with live_server(create_app(settings)) as base:
        code, output = deliver(comment_file, f"{base}/webhooks", WEBHOOK_SECRET, "--delivery", "replayed-1")
        again_code, again = deliver(
            comment_file, f"{base}/webhooks", WEBHOOK_SECRET, "--delivery", "replayed-1"
        )
    assert code == 0, output
    [job] = queued_job_ids(redis_url)
    assert output == f"202 queued jobs={job}\n"
    assert again_code == 0
    assert again == "202 duplicate\n"


def test_deliver_prints_why_a_delivery_was_ignored(settings: Settings, redis_url: str) -> None:
    """The README's example: a comment without an installation is ignored, and `deliver` says why."""
    example = WEBHOOK_EXAMPLES / "issue_comment" / "created.payload.json"
    with live_server(create_app(settings)) as base:
        code, output = deliver(example, f"{base}/webhooks", WEBHOOK_SECRET)
    assert code == 0, output
    assert output.startswith("202 ignored (no installation or repository in the payload")
    assert queued_job_ids(redis_url) == []


def test_deliver_with_the_wrong_secret_shows_the_401(
    settings: Settings, redis_url: str, comment_file: Path
) -> None:
    with live_server(create_app(settings)) as base:
        code, output = deliver(comment_file, f"{base}/webhooks", "not-the-secret")
    assert code == 1
    assert output.startswith("401 ")
    assert queued_job_ids(redis_url) == []


def test_deliver_without_a_secret_exits_2(comment_file: Path) -> None:
    code, output = deliver(comment_file, "http://127.0.0.1:9/webhooks", None)
    assert code == 2
    assert "STEWARD_WEBHOOK_SECRET" in output


def test_deliver_to_nothing_says_so(comment_file: Path) -> None:
    code, output = deliver(comment_file, f"http://127.0.0.1:{free_port()}/webhooks", WEBHOOK_SECRET)
    assert code == 1
    assert "cannot deliver to" in output


def test_serve_then_deliver_end_to_end(redis_url: str, tmp_path: Path, comment_file: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    env |= {"STEWARD_WEBHOOK_SECRET": WEBHOOK_SECRET, "STEWARD_REDIS_URL": redis_url}
    env["STEWARD_LOG_LEVEL"] = "DEBUG"  # a queued delivery is logged at DEBUG (INFO: only what goes wrong)
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [STEWARD, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/webhooks"
        sent = subprocess.run(
            [STEWARD, "deliver", str(comment_file), "--event", "issue_comment", "--url", url],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    assert sent.returncode == 0, sent.stderr
    [job] = queued_job_ids(redis_url)
    assert sent.stdout == f"202 queued jobs={job}\n"
    served = (tmp_path / "serve.log").read_text()
    assert "queued issue_comment.created" in served
    assert WEBHOOK_SECRET not in served


def test_serve_without_a_secret_exits_2_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    result = subprocess.run([STEWARD, "serve"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == "steward: missing settings: STEWARD_WEBHOOK_SECRET"
