"""The dashboard behind its sign-in: GitHub's OAuth callback against scripted GitHub answers, and every
dashboard route with a valid session cookie (and its CSRF token), including sessions due a GitHub re-check.

What GitHub answers is drawn per case (tests/fuzz/github_script.py serves it on loopback): the right answer,
its documented errors, and what a proxy or an outage gives (HTML, broken JSON, other shapes, 5xx). The sign-in
target knows the answer each script must give (an oracle): 303 in, 403 not allowed, 400 a refused code, 502
GitHub unreadable; never 500, no secret (client secret, the user's token) in any answer.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode

from app.dashboard.session import COOKIE, Session, Sessions
from tests.fuzz.core import Broken, Leak, ServerError, Target, unexpected
from tests.fuzz.github_script import Answer
from tests.fuzz.http import Service, check_answer, openapi
from tests.fuzz.text import hostile

JSON = "application/json"


def _json(value: Any, status: int = 200) -> Answer:
    return Answer(status, JSON, json.dumps(value).encode())


BROKEN = {
    "not json": Answer(200, "text/html", b"<html><body>a proxy's sign-in page</body></html>"),
    "bad json": Answer(200, JSON, b'{"access_token": '),
    "server error": Answer(502, "text/html", b"<html>Bad gateway</html>"),
}
"""What GitHub (or something between) answers when it fails: each is a 502 of the dashboard, never a 500."""

TOKEN = {
    "ok": None,  # the user's token, drawn per case
    "bad code": _json(
        {"error": "bad_verification_code", "error_description": "The code passed is incorrect"}
    ),
    "client refused": _json({"error": "incorrect_client_credentials"}),
    "strange error": _json({"error": "<img src=x onerror=alert(1)> @alice", "access_token": 7}),
    "not object": _json(["access_token"]),
    **BROKEN,
}
USER = {"allowed": None, "outsider": None, "no login": _json({"id": 1}), "not object": _json([{"id": 1}]),
        "unauthorized": _json({"message": "Bad credentials"}, 401), **BROKEN}  # fmt: skip
ORGS = {"member": _json([{"login": "octo-org", "id": 2}]), "not member": _json([{"login": "other"}, 3, None]),
        "forbidden": _json({"message": "Forbidden"}, 403), "not list": _json({"login": "octo-org"}),
        **BROKEN}  # fmt: skip

outsiders = st.sampled_from(["alice", "Octo-Org", "<img src=x>", "@octocat"]) | hostile.filter(
    lambda login: login.strip() != "" and login.lower() != "octocat"
)


@dataclass(frozen=True)
class SignIn:
    token: str
    user: str
    orgs: str
    login: str
    code: str
    state_ok: bool
    html: bool
    user_token: str = "gho_fuzz0000000000000000000000000000000"


sign_ins = st.builds(
    SignIn, st.sampled_from(list(TOKEN)), st.sampled_from(list(USER)), st.sampled_from(list(ORGS)), outsiders,
    st.sampled_from(["the-code", ""]) | hostile, st.booleans() | st.just(True), st.booleans(),
    st.text("abcdef0123456789", min_size=20, max_size=40).map(lambda t: f"gho_{t}"),
)  # fmt: skip


def expected(case: SignIn) -> int:
    """What the callback must answer for this script of GitHub's answers."""
    if not case.state_ok:
        return 403
    if case.code == "":
        return 400
    if case.token != "ok":
        return 400 if case.token == "bad code" else 502
    if case.user == "allowed":
        return 303
    if case.user != "outsider":
        return 502
    return {"member": 303, "not member": 403, "forbidden": 403}.get(case.orgs, 502)


def script(case: SignIn) -> dict[str, Answer]:
    login = "octocat" if case.user == "allowed" else case.login
    return {
        "/login/oauth/access_token": TOKEN[case.token]
        or _json({"access_token": case.user_token, "scope": ""}),
        "/user": USER[case.user] or _json({"login": login, "id": 1, "type": "User"}),
        "/user/orgs": ORGS[case.orgs],
    }


def check_sign_in(service: Service, case: SignIn) -> None:
    accept = {"accept": "text/html" if case.html else JSON}
    what = "GET /dashboard/oauth/callback"
    try:
        with httpx.Client(base_url=service.base_url, timeout=30, headers=accept) as browser:
            started = browser.get("/dashboard/oauth/start", params={"next": "/dashboard/health"})
            state = parse_qs(urlsplit(started.headers.get("location", "")).query).get("state", [""])[0]
            if started.status_code != 303 or not state:
                raise Broken(f"the sign-in did not start: {started.status_code}")
            service.github.play(script(case))
            given = state if case.state_ok else state[:-1]
            answer = browser.get("/dashboard/oauth/callback", params={"code": case.code, "state": given})
    except httpx.HTTPError as exc:
        raise unexpected(exc, what) from exc
    want = expected(case)
    if not (want == 502 and answer.status_code == 502):
        check_answer(service, answer.status_code, answer.headers, answer.content, what)
    if case.user_token in answer.text or case.user_token in str(answer.headers):
        raise Leak(f"{what}: the user's GitHub token is in the answer")
    if answer.status_code != want:
        raise Broken(f"{what} answered {answer.status_code}, not {want}, for {case}: {answer.text[:300]!r}")


def sign_in_target(service: Service) -> Target:
    examples = (  # each raised before (500): GitHub's answer not JSON, or not an object
        SignIn("not json", "allowed", "member", "alice", "c", True, True),
        SignIn("bad json", "allowed", "member", "alice", "c", True, False),
        SignIn("ok", "not json", "member", "alice", "c", True, True),
        SignIn("ok", "not object", "member", "alice", "c", True, True),
        SignIn("ok", "outsider", "not json", "alice", "c", True, True),
        SignIn("ok", "outsider", "not list", "alice", "c", True, True),
        SignIn("bad code", "allowed", "member", "alice", "c", True, True),  # was a 502: it is the user's
    )
    return Target("dashboard github sign-in", sign_ins, lambda case: check_sign_in(service, case), examples)


# Signed in with a cookie ------------------------------------------------------------------------------------

MINTED = "ghs_fuzzrecheck000000000000"
RECHECK = {
    "member": {"/orgs/octo-org/installation": _json({"id": 7}),
               "/app/installations/7/access_tokens": _json({"token": MINTED}, 201),
               "/orgs/octo-org/members/alice": Answer(204, None, b"")},
    "not member": {"/orgs/octo-org/installation": _json({"id": 7}),
                   "/app/installations/7/access_tokens": _json({"token": MINTED}, 201)},
    "not installed": {},
    "not json": {"/orgs/octo-org/installation": BROKEN["not json"]},
    "no id": {"/orgs/octo-org/installation": _json({"account": {"login": "octo-org"}})},
    "bad token": {"/orgs/octo-org/installation": _json({"id": 7}),
                  "/app/installations/7/access_tokens": _json({"token": None}, 201)},
}  # fmt: skip
"""What GitHub answers the re-check of a due session of `alice` (allowed only as a member of octo-org)."""
RECHECK_FAILS = {"not json", "no id", "bad token"}
SESSIONS = {
    "token operator": ("token operator", "token", False),
    "github": ("octocat", "github", False),
    "github, due a re-check": ("alice", "github", True),
}


def cookie_cases(service: Service) -> st.SearchStrategy[Any]:
    only_dashboard = openapi(service.app)
    only_dashboard["paths"] = {p: v for p, v in only_dashboard["paths"].items() if p.startswith("/dashboard")}
    schema = schemathesis.openapi.from_dict(only_dashboard)
    drawn = st.one_of(
        schema.as_strategy(generation_mode=GenerationMode.POSITIVE),
        schema.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    return st.tuples(
        drawn, st.sampled_from(list(SESSIONS)), st.sampled_from(list(RECHECK)), st.booleans(),
        st.sampled_from(service.run_ids),
    )  # fmt: skip


def check_cookie(service: Service, sessions: Sessions, drawn: tuple[Any, str, str, bool, str]) -> None:
    case, kind, recheck, with_csrf, run_id = drawn
    user, how, due = SESSIONS[kind]
    session = Session(user=user, how=how, checked=0.0 if due else time.time())
    if case.path_parameters and "run_id" in case.path_parameters:
        case.path_parameters["run_id"] = run_id
    headers = {"cookie": f"{COOKIE}={sessions.sign(session)}"}
    if with_csrf:
        headers["x-csrf-token"] = session.csrf
        if isinstance(case.body, dict):
            case.body["csrf"] = session.csrf
    service.github.play(RECHECK[recheck] if due else {})
    what = f"{case.method} {case.path} ({kind})"
    try:
        answer = case.call(base_url=service.base_url, headers=headers, timeout=30, allow_redirects=False)
    except Exception as exc:
        raise unexpected(exc, what) from exc
    fails = due and recheck in RECHECK_FAILS and not case.formatted_path.startswith("/dashboard/static/")
    if fails and answer.status_code != 503:
        raise Broken(
            f"{what}: GitHub's unreadable re-check ({recheck}) answered {answer.status_code}, not 503"
        )
    if not (fails and answer.status_code == 503):
        check_answer(service, answer.status_code, answer.headers, answer.content, what)


def cookie_target(service: Service) -> Target:
    sessions = Sessions(service.settings)
    return Target(
        "dashboard signed in (cookie)", cookie_cases(service), lambda d: check_cookie(service, sessions, d)
    )


__all__ = ["Broken", "Leak", "ServerError", "SignIn", "check_sign_in", "cookie_target", "sign_in_target"]
