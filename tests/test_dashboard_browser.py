"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against `serve`'s real server.

In order: signed out, redirected; sign in with the operator token; filter the run list; open a run with tool
calls and a diff; cancel a queued run and see its state change; a request without the CSRF token fails. It
saves the run page's screenshot (and checks it is a real picture); with STEWARD_UPDATE_SCREENSHOT=1 it writes
docs/dashboard-run.png, the one the README shows, so a test run leaves the checkout clean.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from app.settings import Settings
from app.web.app import create_app
from app.web.server import uvicorn_config
from tests.conftest import free_port
from tests.dashboard_support import TOKEN, Seeded, dashboard_settings, seed

CHROMIUM = os.environ.get("STEWARD_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    # These machines reach only package registries: without these, Chromium's own background connections are
    # refused at every start, which is noise at best and a flaky failure at worst.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-gpu",
]
DOCS_SCREENSHOT = Path(__file__).parent.parent / "docs" / "dashboard-run.png"

playwright = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[str, Seeded]]:
    """`steward serve`'s app and server (uvicorn, its h11 protocol) on a loopback port, in a thread."""
    seeded = asyncio.run(seed(settings.db_url, extra_runs=12))
    port = free_port()
    config = uvicorn_config(create_app(dashboard_settings(settings)), settings, "127.0.0.1", port,
                            log_level="warning")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", seeded
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def test_an_operator_signs_in_filters_reads_a_run_and_cancels_one(
    served: tuple[str, Seeded], tmp_path: Path
) -> None:
    tmp_shot = tmp_path / "dashboard-run.png"
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is not installed: `apt-get install chromium` (scripts/deps.sh does)")
    base, seeded = served
    problems: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))

        # 1. Signed out: the browser is sent to the sign-in, with the way back.
        page.goto(f"{base}/dashboard")
        assert page.url.startswith(f"{base}/dashboard/login?next=")
        assert seeded.agent_run not in page.content()

        # 2. Sign in with the operator token.
        page.fill("#token", TOKEN)
        page.click("button[type=submit]:has-text('Sign in')")
        page.wait_for_selector("table.runs")
        assert page.url.rstrip("/") == f"{base}/dashboard"
        assert page.locator("table.runs tbody tr").count() == 19  # 12 bulk, 3 seeded, 4 triage runs

        # 3. Filter the run list: htmx swaps the table in place and keeps the filter in the address.
        page.select_option("select[name=state]", "queued")
        page.wait_for_function("() => location.search.includes('state=queued')")
        page.wait_for_function("() => document.querySelectorAll('table.runs tbody tr').length === 13")
        states = page.locator("table.runs tbody td[data-label=State]").all_inner_texts()
        assert set(states) == {"queued"}
        page.select_option("select[name=repo]", "octo/gadgets")
        page.wait_for_function("() => document.querySelectorAll('table.runs tbody tr').length === 1")
        assert seeded.queued_run in page.inner_text("table.runs")

        # 4. A run with tool calls and a diff.
        page.goto(f"{base}/dashboard/runs/{seeded.agent_run}")
        steps = page.inner_text("#steps")
        assert "read_file" in steps and "write_file" in steps and "refused" in steps
        assert "1200 in / 80 out" in steps
        assert page.locator(".diff").count() == 2
        assert page.locator(".diff .d-gi").first.is_visible()
        assert "docs/guide.md" in page.inner_text("#files")
        # The hostile text stayed text: no element was injected, nothing ran.
        assert page.locator("main script, main img").count() == 0
        assert "<script>" in page.inner_text(".diff")
        shot = DOCS_SCREENSHOT if os.environ.get("STEWARD_UPDATE_SCREENSHOT") == "1" else tmp_shot
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000

        # 5. Cancel a queued run and see its state change.
        page.goto(f"{base}/dashboard/runs/{seeded.queued_run}")
        assert page.inner_text("#run-state") == "queued"
        page.click("#cancel")
        page.wait_for_selector("#notice")
        assert page.inner_text("#run-state") == "cancelled"
        assert "token operator" in page.inner_text(".transitions")
        assert page.locator("#retry").is_visible()

        # 6. The same session's request without the CSRF token fails, and changes nothing.
        refused = page.request.post(f"{base}/dashboard/runs/{seeded.queued_run}/retry", form={"x": "1"},
                                    headers={"accept": "text/html"})  # fmt: skip
        assert refused.status == 403
        page.reload()
        assert page.inner_text("#run-state") == "cancelled"
        assert page.locator("#retry").is_visible()  # not retried
        browser.close()
    assert problems == []  # no script error, no Content-Security-Policy violation
