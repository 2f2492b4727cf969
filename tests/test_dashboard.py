"""The dashboard through its real ASGI app: sign-in, refusals, CSRF, pages on a real ledger, cancel, retry."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from pydantic import SecretStr
from starlette.testclient import TestClient

from app.dashboard.auth import safe_next
from app.settings import Settings
from app.web.app import create_app
from jobs.ledger import Ledger, RunState
from jobs.runs.queue import plan_job_id
from tests.dashboard_support import (
    CLIENT_SECRET,
    SESSION_SECRET,
    TOKEN,
    Seeded,
    csrf_of,
    dashboard_settings,
    seed,
)
from tests.postgres import db_url  # noqa: F401  (the SQLite and PostgreSQL ledgers)

HTML = {"accept": "text/html,application/xhtml+xml"}
SECRETS = (TOKEN, SESSION_SECRET, CLIENT_SECRET)


@pytest.fixture
def seeded(settings: Settings) -> Seeded:
    return asyncio.run(seed(settings.db_url))


@pytest.fixture
def client(settings: Settings, seeded: Seeded) -> Iterator[TestClient]:
    with TestClient(create_app(dashboard_settings(settings)).api) as c:
        yield c


def sign_in(c: TestClient, token: str = TOKEN) -> str:
    page = c.get("/dashboard/login", headers=HTML)
    answer = c.post("/dashboard/login", headers=HTML, follow_redirects=False,
                    data={"csrf": csrf_of(page.text), "token": token, "next": "/dashboard/runs"})  # fmt: skip
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


def no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_nothing_is_served_under_dashboard_unless_it_is_configured(settings: Settings) -> None:
    with TestClient(create_app(settings).api) as c:
        for path in ("/dashboard", "/dashboard/", "/dashboard/login", "/dashboard/static/dashboard.css"):
            assert c.get(path, headers=HTML, follow_redirects=False).status_code == 404


def test_signed_out_scripts_get_401_and_browsers_the_sign_in(client: TestClient, seeded: Seeded) -> None:
    for path in ("/dashboard", "/dashboard/", "/dashboard/health", f"/dashboard/runs/{seeded.agent_run}"):
        script = client.get(path, follow_redirects=False)
        assert script.status_code == 401, path
        assert seeded.agent_run not in script.text
        browser = client.get(path, headers=HTML, follow_redirects=False)
        assert browser.status_code == 303
        assert browser.headers["location"].startswith("/dashboard/login?next=%2Fdashboard")
    wrong = client.get("/dashboard/runs", headers={"authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401


def test_the_token_signs_in_with_a_hardened_cookie_and_serves_scripts(client: TestClient) -> None:
    page = client.get("/dashboard/login", headers=HTML)
    refused = client.post(
        "/dashboard/login", headers=HTML, data={"csrf": csrf_of(page.text), "token": "nope"}
    )
    assert refused.status_code == 401
    assert "not the operator" in refused.text
    forged = client.post("/dashboard/login", headers=HTML, data={"csrf": "forged", "token": TOKEN})
    assert forged.status_code == 403
    answer = client.post("/dashboard/login", headers=HTML, follow_redirects=False,
                         data={"csrf": csrf_of(page.text), "token": TOKEN,
                               "next": "//evil.example/x"})  # fmt: skip
    assert answer.headers["location"] == "/dashboard"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/dashboard" in cookie
    assert "secure" not in cookie  # plain HTTP here
    assert client.get("/dashboard/runs", headers=HTML).status_code == 200
    bearer = {"authorization": f"Bearer {TOKEN}"}
    scripted = TestClient(client.app).get("/dashboard/runs", headers=bearer)
    assert scripted.status_code == 200
    assert {run["repo"] for run in scripted.json()["runs"]} >= {"octo/widgets", "octo/gadgets"}


def test_the_cookie_is_secure_behind_a_trusted_tls_proxy(settings: Settings, seeded: Seeded) -> None:
    trusted = dashboard_settings(settings, dashboard_trust_proxy=True)
    with TestClient(create_app(trusted).api) as c:
        answer = c.get("/dashboard/login", headers={**HTML, "x-forwarded-proto": "https"})
        assert "secure" in answer.headers["set-cookie"].lower()
    with TestClient(create_app(dashboard_settings(settings)).api) as c:  # an untrusted header changes nothing
        answer = c.get("/dashboard/login", headers={**HTML, "x-forwarded-proto": "https"})
        assert "secure" not in answer.headers["set-cookie"].lower()


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/dashboard/runs?state=failed", "/dashboard/runs?state=failed"),
        ("/dashboard", "/dashboard"),
        ("//evil.example/dashboard", "/dashboard"),
        ("https://evil.example/dashboard", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
        ("/dashboard/../webhooks", "/dashboard"),
        ("/dashboardx", "/dashboard"),
        ("/elsewhere", "/dashboard"),
        ("/dashboard/\r\nSet-Cookie: x", "/dashboard"),
        ("javascript:alert(1)", "/dashboard"),
        ("", "/dashboard"),
    ],
)
def test_next_never_leaves_the_dashboard(given: str, kept: str) -> None:
    assert safe_next(given) == kept


def test_a_runs_page_shows_its_story_and_escapes_everything_from_outside(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client)
    page = client.get(f"/dashboard/runs/{seeded.agent_run}", headers=HTML)
    assert page.status_code == 200
    html = page.text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert" in html
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "'unsafe-inline'" not in csp
    for shown in ("read_file", "write_file", "refused: path .github/x is denied", "1200 in / 80 out",
                  "0.004200", "bob (maintain)", "alice (write) via /steward docs", "contents: write",
                  "memory 512 MiB",
                  "https://github.com/octo/widgets/issues/42", "https://github.com/octo/widgets/pull/7",
                  "https://github.com/octo/widgets/tree/steward/docs/42", "docs/guide.md", "CHANGELOG.md",
                  'class="d-gi"', "$ sh -c &#39;make docs&#39;"):  # fmt: skip
        assert shown in html, shown
    assert html.count('type="checkbox" disabled checked') == 1  # one step ticked, one dropped
    assert ">+2<" in html.replace("+2 ", "+2<") or "+2</td>" in html
    no_secret(html)
    scripted = client.get(f"/dashboard/runs/{seeded.agent_run}", headers={"authorization": f"Bearer {TOKEN}"})
    steps = scripted.json()["steps"]
    assert [s["kind"] for s in steps] == ["model", "tool", "tool", "exec"]


def test_filters_and_pages_cover_every_run_once(settings: Settings) -> None:
    asyncio.run(seed(settings.db_url, extra_runs=120))
    with TestClient(create_app(dashboard_settings(settings)).api) as c:
        auth = {"authorization": f"Bearer {TOKEN}"}
        seen: list[str] = []
        after = None
        for _ in range(10):
            query = "/dashboard/runs?workflow=docs" + (f"&after={after}" if after else "")
            body = c.get(query, headers=auth).json()
            seen += [run["id"] for run in body["runs"]]
            assert all(run["workflow"] == "docs" for run in body["runs"])
            after = body["after"]
            if after is None:
                break
        assert len(seen) == len(set(seen)) == 122  # 120 bulk runs, the agent run and the failed one
        failed = c.get("/dashboard/runs?state=failed&repo=octo/gadgets", headers=auth).json()["runs"]
        assert [(r["repo"], r["state"]) for r in failed] == [("octo/gadgets", "failed")]
        agent = c.get("/dashboard/runs?engine=agent&since=1d", headers=auth).json()["runs"]
        assert [r["engine"] for r in agent] == ["agent"]
        bad = c.get("/dashboard/runs?state=exploded", headers=auth).json()
        assert "unknown state" in bad["problem"]


def test_cancel_and_retry_are_recorded_with_who_and_need_the_csrf_token(
    client: TestClient, seeded: Seeded, settings: Settings, redis_url: str
) -> None:
    sign_in(client)
    run_page = client.get(f"/dashboard/runs/{seeded.queued_run}", headers=HTML)
    missing = client.post(f"/dashboard/runs/{seeded.queued_run}/cancel", headers=HTML, data={})
    forged = client.post(f"/dashboard/runs/{seeded.queued_run}/cancel", headers=HTML, data={"csrf": "x" * 43})
    assert missing.status_code == forged.status_code == 403

    async def state(run_id: str) -> RunState:
        ledger = await Ledger.connect(settings.db_url)
        try:
            return (await ledger.require_run(run_id)).state
        finally:
            await ledger.close()

    assert asyncio.run(state(seeded.queued_run)) == RunState.QUEUED
    done = client.post(f"/dashboard/runs/{seeded.queued_run}/cancel", headers=HTML,
                       data={"csrf": csrf_of(run_page.text)})  # fmt: skip
    assert done.status_code == 200 and "Cancelled" in done.text

    async def story() -> tuple[str, str, RunState]:
        ledger = await Ledger.connect(settings.db_url)
        try:
            trace = await ledger.trace(seeded.queued_run)
            last = trace.transitions[-1]
            return last.actor, last.reason, trace.run.state
        finally:
            await ledger.close()

    assert asyncio.run(story()) == ("token operator", "cancelled in the dashboard by token operator",
                                    RunState.CANCELLED)  # fmt: skip
    retried = client.post(
        f"/dashboard/runs/{seeded.queued_run}/retry", headers={"authorization": f"Bearer {TOKEN}"}
    )
    assert retried.status_code == 200
    new = retried.json()["run"]
    assert new != seeded.queued_run
    retried_page = client.get(f"/dashboard/runs/{new}", headers=HTML).text
    assert 'id="asked-by">token operator (dashboard operator) via retry<' in retried_page
    assert redis.Redis.from_url(redis_url).exists(f"arq:job:{plan_job_id(new)}")  # queued on the real Redis
    again = client.post(
        f"/dashboard/runs/{seeded.agent_run}/cancel", headers={"authorization": f"Bearer {TOKEN}"}
    )
    assert again.status_code == 409 and "proposed" in again.json()["error"]


def test_health_and_duplicates_read_redis_and_the_ledger(
    client: TestClient, seeded: Seeded, redis_url: str
) -> None:
    r = redis.Redis.from_url(redis_url)
    r.set("steward:worker:host:1:abcd", b"1", px=20_000)
    r.zadd("arq:queue", {"run:plan:x": 1, "run:plan:y": 2})
    r.set("arq:in-progress:run:work:z", b"1")
    r.hset("steward:running", "run:work:z", "host:1:abcd")
    sign_in(client)
    health = client.get("/dashboard/health", headers=HTML).text
    assert "host:1:abcd" in health and 'id="queued">2<' in health and 'id="in-progress">1<' in health
    assert "run:work:z" in health and "stopped by the agent&#39;s `cost` budget" in health
    assert "octo/gadgets" in health  # noise budget: its runs of the last day
    r.delete("steward:worker:host:1:abcd")
    assert "No worker is alive" in client.get("/dashboard/health", headers=HTML).text
    dupes = client.get("/dashboard/duplicates", headers=HTML).text
    assert "suggested #12 (0.91)" in dupes and "commented" in dupes
    assert "no candidate passed (8 ranked; best #9 at 0.31)" in dupes and "silent" in dupes
    assert "frank" in dupes and "#12" in dupes
    held = dupes.split("octo/widgets#52</a>")[1].split("</tr>")[0]
    assert "held (noise limit)" in held and "held #40 (0.91): no new comment past the noise limit" in held
    answered = dupes.split("octo/widgets#53</a>")[1].split("</tr>")[0]
    assert "answered (none found)" in answered and "best #9 at 0.45" in answered


def test_no_secret_in_any_page_or_redirect(client: TestClient, seeded: Seeded, tmp_path: Path) -> None:
    seen = [client.get("/dashboard/login", headers=HTML).text, sign_in(client)]
    for path in ("/dashboard/runs", "/dashboard/health", "/dashboard/duplicates",
                 f"/dashboard/runs/{seeded.agent_run}", f"/dashboard/runs/{seeded.failed_run}"):  # fmt: skip
        answer = client.get(path, headers=HTML)
        seen += [answer.text, str(answer.headers)]
    no_secret(*seen)


def test_settings_refuse_half_an_oauth_configuration(settings: Settings) -> None:
    with pytest.raises(ValueError, match="both"):
        Settings(webhook_secret=SecretStr("x"), dashboard_oauth_client_id="Iv1.x")
    with pytest.raises(ValueError, match="ALLOWED"):
        Settings(webhook_secret=SecretStr("x"), dashboard_oauth_client_id="Iv1.x",
                 dashboard_oauth_client_secret=SecretStr(CLIENT_SECRET))  # fmt: skip
    with pytest.raises(ValueError, match="org/team-slug"):
        Settings(webhook_secret=SecretStr("x"), dashboard_oauth_client_id="Iv1.x",
                 dashboard_oauth_client_secret=SecretStr(CLIENT_SECRET),
                 dashboard_allowed_teams=["core"])  # fmt: skip
    assert not Settings(webhook_secret=SecretStr("x"), dashboard_token="  ").dashboard_enabled


def test_keyset_pages_and_reasons_on_sqlite_and_postgresql(db_url: str) -> None:  # noqa: F811
    from jobs.ledger.browse import RunFilter

    async def go() -> None:
        seeded = await seed(db_url, extra_runs=30)
        ledger = await Ledger.connect(db_url)
        try:
            first, after = await ledger.page_runs(RunFilter(workflow="docs"), limit=20)
            assert after is not None
            rest, end = await ledger.page_runs(RunFilter(workflow="docs"), after=after, limit=20)
            assert end is None
            ids = [r.id for r in first + rest]
            assert len(ids) == len(set(ids)) == 32
            assert [r.created_at for r in first + rest] == sorted(
                (r.created_at for r in first + rest), reverse=True
            )
            reasons = await ledger.last_reasons([seeded.failed_run, seeded.agent_run])
            assert reasons == {seeded.failed_run: "stopped by the agent's `cost` budget",
                               seeded.agent_run: "proposed in #7"}  # fmt: skip
            assert [(c.number, c.other, c.actor) for c in await ledger.corrections()] == [(50, 12, "frank")]
            trace = await ledger.trace(seeded.agent_run)
            assert "new line" in trace.proposals[-1].diff
        finally:
            await ledger.close()

    asyncio.run(go())
