"""The githubkit adapter on respx: scoped token request, lenient parsing, bounded retries, clean logs."""

from __future__ import annotations

import logging
import time

import httpx
import pytest
import respx

from app.github.client import installation_client
from app.github.errors import GitHubRefused, GitHubUnavailable, RateLimited
from app.github.protocol import RepoId
from app.github.retrying import RetryPolicy
from app.settings import Settings
from policies.loader import token_permissions
from tests.github_mock import API, TOKEN, FakeGitHub, server_error

pytestmark = pytest.mark.anyio

REPO = RepoId("Codertocat", "Hello-World")
FAST = RetryPolicy(max_tries=3, backoff=0.01, max_rate_wait=0.5)


@pytest.fixture
def github() -> FakeGitHub:
    return FakeGitHub()


@pytest.fixture
def api(github: FakeGitHub) -> respx.MockRouter:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        github.install(router)
        yield router


async def test_token_request_carries_exactly_the_repository_and_the_policys_permissions(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    permissions = token_permissions("commands")
    gh = await installation_client(settings, 42, REPO, permissions, policy=FAST)
    github.permissions["octocat"] = "triage"
    assert await gh.collaborator_permission(REPO, "octocat") == "triage"

    token_call = api["token"].calls.last.request
    assert token_call.url.path == "/app/installations/42/access_tokens"
    assert github.token_bodies == [{"repositories": ["Hello-World"], "permissions": permissions}]
    assert permissions == {"contents": "read", "issues": "write"}
    assert github.token_auth[0].startswith("Bearer ey")  # the App's JWT
    assert api["permission"].calls.last.request.headers["authorization"] == f"token {TOKEN}"


async def test_ghes_base_url_keeps_its_api_path(settings: Settings) -> None:
    ghes = settings.model_copy(update={"github_api_url": "https://ghe.example.com/api/v3"})
    github = FakeGitHub()
    with respx.mock(assert_all_called=True) as router:
        token = router.post("https://ghe.example.com/api/v3/app/installations/7/access_tokens").mock(
            return_value=httpx.Response(201, json={"token": TOKEN, "expires_at": "2099-01-01T00:00:00Z"})
        )
        perm = router.get(
            "https://ghe.example.com/api/v3/repos/Codertocat/Hello-World/collaborators/a/permission"
        )
        perm.mock(return_value=httpx.Response(200, json={"permission": "write", "role_name": "maintain"}))
        gh = await installation_client(ghes, 7, REPO, {"issues": "write"}, policy=FAST)
        assert await gh.collaborator_permission(REPO, "a") == "maintain"
    assert token.called and github.created == 0


async def test_permission_uses_role_name_then_legacy_field_and_404_is_none(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    gh = await installation_client(settings, 1, REPO, {"issues": "write"}, policy=FAST)
    # GHES before role_name existed: only the legacy `permission` field
    github.fail_next["permission"] = [httpx.Response(200, json={"permission": "write", "user": None})]
    assert await gh.collaborator_permission(REPO, "legacy") == "write"
    assert await gh.collaborator_permission(REPO, "stranger") == "none"


async def test_get_file_decodes_base64_and_missing_is_none(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    github.files[".github/steward.yml"] = "prefix: /bot\n" * 20  # long enough to be wrapped by GitHub
    gh = await installation_client(settings, 1, REPO, {"contents": "read"}, policy=FAST)
    found = await gh.get_file(REPO, ".github/steward.yml")
    assert found is not None and found.text == "prefix: /bot\n" * 20 and len(found.sha) == 40
    assert await gh.get_file(REPO, "missing.yml") is None


async def test_list_comments_follows_pagination(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    for i in range(130):
        github.add_comment(5, f"comment {i}", "octocat")
    gh = await installation_client(settings, 1, REPO, {"issues": "read"}, policy=FAST)
    comments = await gh.list_comments(REPO, 5)
    assert [c.body for c in comments] == [f"comment {i}" for i in range(130)]
    assert api["list_comments"].call_count == 2


async def test_server_errors_are_retried_within_bounds(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    gh = await installation_client(settings, 1, REPO, {"issues": "write"}, policy=FAST)
    github.fail_next["list_comments"] = [server_error(), server_error()]
    assert await gh.list_comments(REPO, 3) == [] and api["list_comments"].call_count == 3

    github.fail_next["list_comments"] = [server_error()] * 3
    with pytest.raises(GitHubUnavailable, match="502"):
        await gh.list_comments(REPO, 3)


async def test_a_creating_post_is_not_sent_twice_after_a_server_error(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    """A 502 may come after GitHub made the comment: the job's retry looks for it; no resend."""
    gh = await installation_client(settings, 1, REPO, {"issues": "write"}, policy=FAST)
    github.fail_next["create_comment"] = [server_error()]
    with pytest.raises(GitHubUnavailable, match="502"):
        await gh.create_comment(REPO, 3, "hello")
    assert api["create_comment"].call_count == 1


async def test_client_errors_are_not_retried(settings: Settings, api: respx.MockRouter) -> None:
    gh = await installation_client(settings, 1, REPO, {"issues": "write"}, policy=FAST)
    route = api.post(f"/repos/{REPO.full_name}/issues/9/labels").mock(
        return_value=httpx.Response(403, json={"message": "Resource not accessible by integration"})
    )
    with pytest.raises(GitHubRefused, match="Resource not accessible"):
        await gh.add_labels(REPO, 9, ["duplicate"])
    assert route.call_count == 1


def _rate_limited(reset_in: float) -> httpx.Response:
    return httpx.Response(
        403,
        json={"message": "API rate limit exceeded for installation ID 1."},
        headers={
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": "5000",
            "x-ratelimit-reset": str(int(time.time() + reset_in)),
            "x-ratelimit-resource": "core",
        },
    )


async def test_a_far_rate_limit_raises_instead_of_sleeping(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    gh = await installation_client(settings, 1, REPO, {"issues": "write"}, policy=FAST)
    github.fail_next["list_comments"] = [_rate_limited(3600)]
    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        await gh.list_comments(REPO, 1)
    assert time.monotonic() - started < 1.0
    assert 3500 < (caught.value.retry_after or 0) <= 3601


async def test_a_near_secondary_rate_limit_is_waited_out(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter
) -> None:
    policy = RetryPolicy(max_tries=3, backoff=0.01, max_rate_wait=2.0)
    gh = await installation_client(settings, 1, REPO, {"issues": "write"}, policy=policy)
    github.fail_next["list_comments"] = [
        httpx.Response(
            403, json={"message": "You have exceeded a secondary rate limit."}, headers={"retry-after": "1"}
        )
    ]
    started = time.monotonic()
    assert await gh.list_comments(REPO, 1) == []
    assert 0.9 < time.monotonic() - started < 3


async def test_the_token_never_reaches_the_logs(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gh = await installation_client(settings, 1, REPO, {"issues": "write"}, policy=FAST)
    github.fail_next["list_comments"] = [server_error()]  # the retry path logs a warning
    await gh.list_comments(REPO, 1)
    assert len(caplog.records) >= 4, "the token POST, the 502, the retry and the 200 are logged"
    assert any("retrying" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in str(record.__dict__)
    assert TOKEN not in repr(gh)


def test_the_log_filter_masks_a_careless_line() -> None:
    from app.github.redact import RedactSecrets, register_secret

    register_secret("v1.0123456789abcdef0123456789abcdef01234567")  # a GHES-era token without the ghs_ prefix
    record = logging.LogRecord(
        "x",
        logging.WARNING,
        __file__,
        1,
        "auth: %s and %s",
        (f"token {TOKEN}", "v1.0123456789abcdef0123456789abcdef01234567"),
        None,
    )
    assert RedactSecrets().filter(record)
    assert TOKEN not in record.getMessage() and "0123456789abcdef" not in record.getMessage()
    assert record.getMessage() == "auth: token *** and ***"
