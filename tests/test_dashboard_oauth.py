"""Signing in to the dashboard with GitHub (the App's user authorisation); GitHub's HTTP mocked with respx."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from pydantic import SecretStr
from starlette.testclient import TestClient

from app.settings import Settings
from app.web.app import create_app
from tests.dashboard_support import CLIENT_SECRET, dashboard_settings, seed

HTML = {"accept": "text/html"}
CLIENT_ID = "Iv1.0123456789abcdef"
USER_TOKEN = "ghu_user-token-for-tests-000000000000"
# Shaped like GitHub's answers: https://docs.github.com/en/rest/users/users#get-the-authenticated-user
USER = {"login": "octocat", "id": 1, "type": "User", "site_admin": False}
ORGS = [{"login": "octo-org", "id": 2}, {"login": "other", "id": 3}]


def oauth_settings(settings: Settings, **allowed: Any) -> Settings:
    return dashboard_settings(
        settings, dashboard_token=None, dashboard_oauth_client_id=CLIENT_ID,
        dashboard_oauth_client_secret=SecretStr(CLIENT_SECRET), **allowed,
    )  # fmt: skip


@pytest.fixture
def github() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="testserver").pass_through()
        yield mock


def start(c: TestClient) -> str:
    answer = c.get("/dashboard/oauth/start?next=/dashboard/health", headers=HTML, follow_redirects=False)
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    assert (
        f"{location.scheme}://{location.netloc}{location.path}" == "https://github.com/login/oauth/authorize"
    )
    query = parse_qs(location.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == ["http://testserver/dashboard/oauth/callback"]
    assert CLIENT_SECRET not in answer.headers["location"]
    return query["state"][0]


def mock_github(github: respx.MockRouter, orgs: list[dict[str, Any]]) -> dict[str, respx.Route]:
    token = github.post("https://github.com/login/oauth/access_token").mock(
        return_value=httpx.Response(
            200, json={"access_token": USER_TOKEN, "token_type": "bearer", "scope": ""}
        )
    )
    user = github.get("https://api.github.com/user").mock(return_value=httpx.Response(200, json=USER))
    mine = github.get("https://api.github.com/user/orgs").mock(return_value=httpx.Response(200, json=orgs))
    return {"token": token, "user": user, "orgs": mine}


def test_a_member_of_an_allowed_org_signs_in(settings: Settings, github: respx.MockRouter) -> None:
    asyncio.run(seed(settings.db_url))
    routes = mock_github(github, ORGS)
    with TestClient(create_app(oauth_settings(settings, dashboard_allowed_orgs=["octo-org"])).api) as c:
        login = c.get("/dashboard/login", headers=HTML).text
        assert "Sign in with GitHub" in login and 'name="token"' not in login
        state = start(c)
        done = c.get(
            f"/dashboard/oauth/callback?code=the-code&state={state}", headers=HTML, follow_redirects=False
        )
        assert done.status_code == 303 and done.headers["location"] == "/dashboard/health"
        page = c.get("/dashboard/health", headers=HTML)
        assert page.status_code == 200 and "octocat" in page.text
        for text in (page.text, done.headers["location"], str(done.headers)):
            assert USER_TOKEN not in text and CLIENT_SECRET not in text
    sent = parse_qs(routes["token"].calls.last.request.content.decode())
    assert sent["code"] == ["the-code"] and sent["client_id"] == [CLIENT_ID]
    assert sent["client_secret"] == [CLIENT_SECRET]  # only ever to GitHub's token endpoint
    assert routes["user"].calls.last.request.headers["authorization"] == f"Bearer {USER_TOKEN}"


def test_a_user_outside_the_allowed_orgs_is_refused(settings: Settings, github: respx.MockRouter) -> None:
    mock_github(github, [{"login": "other", "id": 3}])
    with TestClient(create_app(oauth_settings(settings, dashboard_allowed_orgs=["octo-org"])).api) as c:
        state = start(c)
        refused = c.get(f"/dashboard/oauth/callback?code=c&state={state}", headers=HTML)
        assert refused.status_code == 403 and "octocat may not use this dashboard" in refused.text
        assert c.get("/dashboard/runs", follow_redirects=False).status_code == 401


def test_a_team_member_is_let_in_by_the_teams_membership(
    settings: Settings, github: respx.MockRouter
) -> None:
    mock_github(github, [])
    team = github.get("https://api.github.com/orgs/octo-org/teams/core/memberships/octocat").mock(
        return_value=httpx.Response(200, json={"state": "active", "role": "member"})
    )
    allowed = oauth_settings(settings, dashboard_allowed_teams=["octo-org/core"])
    with TestClient(create_app(allowed).api) as c:
        state = start(c)
        assert c.get(f"/dashboard/oauth/callback?code=c&state={state}", headers=HTML,
                     follow_redirects=False).status_code == 303  # fmt: skip
    assert team.called


@pytest.mark.parametrize("state", ["", "forged-state"])
def test_a_callback_without_the_sessions_state_is_refused(
    settings: Settings, github: respx.MockRouter, state: str
) -> None:
    routes = mock_github(github, ORGS)
    with TestClient(create_app(oauth_settings(settings, dashboard_allowed_orgs=["octo-org"])).api) as c:
        start(c)
        refused = c.get(f"/dashboard/oauth/callback?code=c&state={state}", headers=HTML)
        assert refused.status_code == 403
    assert not routes["token"].called  # the code is never exchanged


def test_a_state_is_good_for_one_answer(settings: Settings, github: respx.MockRouter) -> None:
    mock_github(github, ORGS)
    with TestClient(create_app(oauth_settings(settings, dashboard_allowed_orgs=["octo-org"])).api) as c:
        state = start(c)
        other = TestClient(c.app)  # another browser, without this session: the state is not its own
        assert other.get(f"/dashboard/oauth/callback?code=c&state={state}", headers=HTML).status_code == 403
        assert c.get(f"/dashboard/oauth/callback?code=c&state={state}", headers=HTML,
                     follow_redirects=False).status_code == 303  # fmt: skip
        c.cookies.clear()
        assert c.get(f"/dashboard/oauth/callback?code=c&state={state}", headers=HTML).status_code == 403


def test_github_refusing_the_code_is_said_without_secrets(
    settings: Settings, github: respx.MockRouter
) -> None:
    github.post("https://github.com/login/oauth/access_token").mock(
        return_value=httpx.Response(200, json={"error": "bad_verification_code", "error_description": "..."})
    )
    with TestClient(create_app(oauth_settings(settings, dashboard_allowed_users=["octocat"])).api) as c:
        state = start(c)
        failed = c.get(f"/dashboard/oauth/callback?code=c&state={state}", headers=HTML)
        assert failed.status_code == 400 and "bad_verification_code" in failed.text
        assert "wrong, used already or expired" in failed.text
        assert CLIENT_SECRET not in failed.text


@pytest.mark.parametrize(
    ("route", "answer", "said"),
    [
        ("token", httpx.Response(200, text="<html>proxy</html>", headers={"content-type": "text/html"}),
         "answer to the code exchange is not JSON (200, text/html)"),
        ("token", httpx.Response(200, text="{nope", headers={"content-type": "application/json"}),
         "answer to the code exchange is not JSON (200, application/json)"),
        ("token", httpx.Response(200, json=["access_token"]), "code exchange is not a JSON object"),
        ("token", httpx.Response(503, text="unicorn"), "could not exchange the code (503)"),
        ("token", httpx.Response(200, json={"error": "<img src=x>", "access_token": 3}), "sign-in (200)"),
        ("user", httpx.Response(200, text="<html>", headers={"content-type": "text/html"}),
         "answer about who signed in is not JSON"),
        ("user", httpx.Response(200, json=[USER]), "answer about who signed in is not a JSON object"),
        ("user", httpx.Response(200, json={"login": 7}), "GitHub did not say who signed in"),
        ("orgs", httpx.Response(200, text="x", headers={"content-type": "text/plain"}),
         "answer about the organisations is not JSON"),
        ("orgs", httpx.Response(502, json={"message": "bad gateway"}), "about the organisations (502)"),
    ],
)  # fmt: skip
def test_an_answer_of_github_that_cannot_be_read_is_a_502_that_says_so(
    settings: Settings, github: respx.MockRouter, route: str, answer: httpx.Response, said: str
) -> None:
    """These answers raised (JSONDecodeError, AttributeError): a 500 with nothing said."""
    mock_github(github, [{"login": "octo-org"}])[route].mock(return_value=answer)
    with TestClient(create_app(oauth_settings(settings, dashboard_allowed_orgs=["octo-org"])).api) as c:
        state = start(c)
        failed = c.get(f"/dashboard/oauth/callback?code=c&state={state}", headers=HTML)
        assert failed.status_code == 502 and said in failed.text
        assert "<img src=x>" not in failed.text and CLIENT_SECRET not in failed.text
