"""A GitHub session is checked again after STEWARD_DASHBOARD_RECHECK_MINUTES, with the App's own credentials:
someone removed from the allowed org or team is signed out at their next request; GitHub's HTTP via respx."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from starlette.testclient import TestClient

from app.dashboard import recheck
from app.settings import Settings
from app.web.app import create_app
from tests.test_dashboard_oauth import ORGS, mock_github, oauth_settings, start

HTML = {"accept": "text/html"}
API = "https://api.github.com"
INSTALLATION = 987
ORG_TOKEN = "ghs_org-members-read-token-for-tests-0000"
# Shaped like GitHub's answers: https://docs.github.com/en/rest/apps/apps#get-an-organization-installation-for-the-authenticated-app
ORG_INSTALLATION = {
    "id": INSTALLATION, "app_id": 12345, "target_type": "Organization", "target_id": 2,
    "account": {"login": "octo-org", "id": 2, "type": "Organization"},
    "permissions": {"members": "read", "metadata": "read"}, "events": [], "repository_selection": "all",
}  # fmt: skip
MINTED = {"token": ORG_TOKEN, "expires_at": "2099-01-01T00:00:00Z", "permissions": {"members": "read"},
          "repository_selection": "all"}  # fmt: skip


@pytest.fixture
def github() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="testserver").pass_through()
        yield mock


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Minutes to move the dashboard's clock forward (the sessions' own signatures keep real time)."""
    ahead = [0.0]
    monkeypatch.setattr(recheck, "clock", lambda: time.time() + ahead[0] * 60)
    return ahead


def app_routes(github: respx.MockRouter, member: int = 204) -> dict[str, respx.Route]:
    installation = github.get(f"{API}/orgs/octo-org/installation").mock(
        return_value=httpx.Response(200, json=ORG_INSTALLATION)
    )
    token = github.post(f"{API}/app/installations/{INSTALLATION}/access_tokens").mock(
        return_value=httpx.Response(201, json=MINTED)
    )
    members = github.get(f"{API}/orgs/octo-org/members/octocat").mock(return_value=httpx.Response(member))
    return {"installation": installation, "token": token, "members": members}


def signed_in(c: TestClient) -> None:
    state = start(c)
    done = c.get(f"/dashboard/oauth/callback?code=c&state={state}", headers=HTML, follow_redirects=False)
    assert done.status_code == 303


def test_a_user_removed_from_the_org_is_signed_out_on_the_first_request_after_the_interval(
    settings: Settings, github: respx.MockRouter, later: list[float]
) -> None:
    mock_github(github, ORGS)
    routes = app_routes(github)
    allowed = oauth_settings(settings, dashboard_allowed_orgs=["octo-org"], dashboard_recheck_minutes=15)
    with TestClient(create_app(allowed).api) as c:
        signed_in(c)
        later[0] = 14
        assert c.get("/dashboard/runs", headers=HTML).status_code == 200
        assert not routes["installation"].called  # inside the interval: GitHub is not asked

        later[0] = 16
        assert c.get("/dashboard/runs", headers=HTML).status_code == 200  # still a member
        assert routes["members"].call_count == 1
        body: dict[str, Any] = json.loads(routes["token"].calls.last.request.content)
        assert body == {"permissions": {"members": "read"}}  # nothing more than membership
        assert routes["members"].calls.last.request.headers["authorization"] == f"Bearer {ORG_TOKEN}"
        assert routes["installation"].calls.last.request.headers["authorization"].startswith("Bearer ey")
        assert c.get("/dashboard/health", headers=HTML).status_code == 200
        assert routes["members"].call_count == 1  # the cookie kept the new check's time

        routes["members"].mock(return_value=httpx.Response(404, json={"message": "Not Found"}))
        later[0] = 32
        gone = c.get("/dashboard/runs", headers=HTML, follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"].startswith("/dashboard/login")
        assert c.get("/dashboard/runs").status_code == 401  # signed out for good: no second question
        assert routes["members"].call_count == 2
        for answer in (gone,):
            assert ORG_TOKEN not in str(answer.headers) and ORG_TOKEN not in answer.text


def test_a_team_is_checked_again_and_github_failing_keeps_the_session_but_not_the_page(
    settings: Settings, github: respx.MockRouter, later: list[float]
) -> None:
    mock_github(github, [])
    team_url = f"{API}/orgs/octo-org/teams/core/memberships/octocat"
    team = github.get(team_url).mock(
        return_value=httpx.Response(200, json={"state": "active", "role": "member"})
    )
    routes = app_routes(github)
    allowed = oauth_settings(settings, dashboard_allowed_teams=["octo-org/core"], dashboard_recheck_minutes=5)
    with TestClient(create_app(allowed).api) as c:
        signed_in(c)
        assert team.call_count == 1  # the sign-in's own check, with the user's token
        later[0] = 6
        team.mock(return_value=httpx.Response(502))
        failed = c.get("/dashboard/runs", headers=HTML)
        assert failed.status_code == 503 and "could not check your GitHub access again" in failed.text
        assert not routes["members"].called  # a team, not the whole org, lets this user in
        team.mock(return_value=httpx.Response(200, json={"state": "active", "role": "member"}))
        assert c.get("/dashboard/runs", headers=HTML).status_code == 200  # the session survived
        team.mock(return_value=httpx.Response(200, json={"state": "pending", "role": "member"}))
        later[0] = 12
        assert c.get("/dashboard/runs").status_code == 401
        assert team.calls.last.request.headers["authorization"] == f"Bearer {ORG_TOKEN}"


def test_the_app_not_installed_in_the_org_cannot_confirm_anyone(
    settings: Settings, github: respx.MockRouter, later: list[float]
) -> None:
    mock_github(github, ORGS)
    routes = app_routes(github)
    routes["installation"].mock(return_value=httpx.Response(404, json={"message": "Not Found"}))
    allowed = oauth_settings(settings, dashboard_allowed_orgs=["octo-org"])
    with TestClient(create_app(allowed).api) as c:
        signed_in(c)
        later[0] = allowed.dashboard_recheck_minutes + 1
        assert c.get("/dashboard/runs").status_code == 401
    assert not routes["token"].called and not routes["members"].called


def test_a_listed_user_needs_no_question(
    settings: Settings, github: respx.MockRouter, later: list[float]
) -> None:
    mock_github(github, [])
    routes = app_routes(github)
    allowed = oauth_settings(settings, dashboard_allowed_users=["OctoCat"])
    with TestClient(create_app(allowed).api) as c:
        signed_in(c)
        later[0] = 60 * 11
        assert c.get("/dashboard/runs", headers=HTML).status_code == 200
    assert not routes["installation"].called


@pytest.mark.parametrize(
    ("route", "answer", "said"),
    [
        (
            "installation",
            httpx.Response(200, text="<html>", headers={"content-type": "text/html"}),
            "not JSON",
        ),
        ("installation", httpx.Response(200, json={"account": {"login": "octo-org"}}), "has no `id`"),
        ("token", httpx.Response(201, json={"token": None}), "has no `token`"),
    ],
)
def test_an_answer_of_github_that_cannot_be_read_keeps_the_session_but_not_the_page(
    settings: Settings,
    github: respx.MockRouter,
    later: list[float],
    route: str,
    answer: httpx.Response,
    said: str,
) -> None:
    """These raised (KeyError, JSONDecodeError): a 500 (the dashboard cookie fuzz target draws them too)."""
    mock_github(github, ORGS)
    routes = app_routes(github)
    allowed = oauth_settings(settings, dashboard_allowed_orgs=["octo-org"])
    with TestClient(create_app(allowed).api) as c:
        signed_in(c)
        routes[route].mock(return_value=answer)
        later[0] = allowed.dashboard_recheck_minutes + 1
        failed = c.get("/dashboard/runs", headers=HTML)
        assert failed.status_code == 503 and said in failed.text
        app_routes(github)
        assert c.get("/dashboard/runs", headers=HTML).status_code == 200  # the session survived
