"""`steward serve` fuzzed on loopback at the CI count (STEWARD_FUZZ_CASES): the API through Schemathesis,
the webhook receiver through Hypothesis; no 5xx, no secret in any answer (bench/fuzz.py: the same, 10,000)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.routing import Mount, Route

from app.web.app import WEBHOOK_PATH
from tests.conftest import RedisServer
from tests.fuzz import dashboard, http
from tests.fuzz.core import cases_from_env, run


@pytest.fixture(scope="module")
def service(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[http.Service]:
    if redis_server.proc is None:
        redis_server.start()
    redis_server.flush()
    with http.serve(redis_server.url, tmp_path_factory.mktemp("serve")) as served:
        yield served


def _paths(routes: list[object], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for route in routes:
        if isinstance(route, Mount):
            inner = route.routes or []
            found |= _paths(list(inner), prefix + route.path) if inner else {prefix + route.path + "/{file}"}
        elif isinstance(route, Route) or hasattr(route, "path"):
            found.add(re.sub(r"\{(\w+):\w+\}", r"{\1}", prefix + route.path))  # type: ignore[attr-defined]
    return found


def test_every_route_is_fuzzed(service: http.Service) -> None:
    """A new route must join the schema Schemathesis fuzzes (the receiver has its own target)."""
    served = _paths(list(service.app.api.router.routes))
    assert served - {WEBHOOK_PATH} == set(http.openapi(service.app)["paths"])


def test_the_api_answers_no_5xx_and_no_secret(service: http.Service) -> None:
    tally = run(http.api_target(service), cases_from_env(), strict=True)
    assert tally.cases >= cases_from_env()


def test_the_webhook_receiver_answers_no_5xx_and_no_secret(service: http.Service) -> None:
    tally = run(http.webhook_target(service), cases_from_env(), strict=True)
    assert tally.cases >= cases_from_env()


def test_the_github_sign_in_answers_as_githubs_answers_say(service: http.Service) -> None:
    """303 in, 403 refused, 400 a code GitHub refused, 502 GitHub unreadable; never 500, no token leaked."""
    tally = run(dashboard.sign_in_target(service), cases_from_env(), strict=True)
    assert tally.cases >= cases_from_env()


def test_the_dashboard_signed_in_with_a_cookie_answers_no_5xx_and_no_secret(service: http.Service) -> None:
    tally = run(dashboard.cookie_target(service), cases_from_env(), strict=True)
    assert tally.cases >= cases_from_env()


def test_the_sign_in_oracle_bites(service: http.Service) -> None:
    """A script whose answer the callback does not give is a finding (the oracle is not always right)."""
    dashboard.check_sign_in(service, dashboard.SignIn("ok", "allowed", "member", "alice", "c", True, False))
    lying = {"bad code": dashboard.TOKEN["client refused"], "member": dashboard.ORGS["not member"]}
    saved = {**dashboard.TOKEN, **dashboard.ORGS}
    dashboard.TOKEN["bad code"], dashboard.ORGS["member"] = lying["bad code"], lying["member"]
    try:  # GitHub's answers are not what the script's names say: the answers differ from the oracle's
        with pytest.raises(http.ServerError, match="answered 502"):
            dashboard.check_sign_in(
                service, dashboard.SignIn("bad code", "allowed", "member", "a", "c", True, False)
            )
        with pytest.raises(dashboard.Broken, match="answered 403, not 303"):
            dashboard.check_sign_in(
                service, dashboard.SignIn("ok", "outsider", "member", "a", "c", True, False)
            )
    finally:
        dashboard.TOKEN["bad code"], dashboard.ORGS["member"] = saved["bad code"], saved["member"]


def test_a_leaked_secret_is_found(service: http.Service) -> None:
    """The check bites: an answer that carries the dashboard token (in a header) is a leak."""
    with pytest.raises(http.Leak, match="dashboard token"):
        http.check_answer(service, 200, {"x-debug": service.dashboard_token}, b"ok", "GET /x")
    with pytest.raises(http.ServerError):
        http.check_answer(service, 502, {}, b"", "GET /x")
