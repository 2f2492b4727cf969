"""The shadow client: reads reach GitHub, writes land in the ledger (real SQLite), and any write it does not
know is refused before it leaves, so a forgotten method cannot reach GitHub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import respx
from githubkit import GitHub
from githubkit.cache import MemCacheStrategy

from app.github.client import GitHubKitClient
from app.github.comments import upsert_comment
from app.github.protocol import RepoId
from app.github.retrying import RetryPolicy
from jobs.db import make_engine, migrate, sessions
from jobs.shadow.client import ShadowClient, ShadowTarget, ShadowWriteRefused, shadowed
from jobs.shadow.store import Sessions, records
from tests.conftest import load_payload
from tests.github_mock import API, TOKEN

pytestmark = pytest.mark.anyio
REPO = RepoId("Codertocat", "Hello-World")


@pytest.fixture
async def maker(tmp_path: Path) -> AsyncIterator[Sessions]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")
    await migrate(engine)
    yield sessions(engine)
    await engine.dispose()


@pytest.fixture
def client(maker: Sessions) -> ShadowClient:
    gh = GitHub(TOKEN, cache_strategy=MemCacheStrategy(), http_cache=False, auto_retry=False)
    inner = GitHubKitClient(gh, RetryPolicy(max_tries=1))
    return shadowed(inner, maker, ShadowTarget(REPO.full_name, 1, "docs", "r-0123456789"), "steward[bot]")


async def test_writes_are_recorded_once_each_and_reads_still_reach_github(
    client: ShadowClient, maker: Sessions
) -> None:
    comment = load_payload("issue_comment", "created.with-installation")["comment"]
    with respx.mock(base_url=API, assert_all_called=True) as router:
        listed = router.get(f"{API}/repos/{REPO.full_name}/issues/1/comments").mock(
            return_value=httpx.Response(200, json=[comment])
        )
        for _ in range(2):  # converging twice on the same marker updates the one record
            await upsert_comment(
                client, REPO, 1, "<!-- steward:plan -->", "<!-- steward:plan -->\nplan", author="steward[bot]"
            )
        await client.add_labels(REPO, 1, ["duplicate"])
        await client.set_status(REPO, "a" * 40, "pending", context="steward/review", description="waiting")
        pull = await client.create_pull(REPO, title="Docs", body="body", head="steward/docs/1", base="main")
    assert listed.call_count == 2 and all(call.request.method == "GET" for call in router.calls)
    assert pull.number == 0 and pull.head_ref == "steward/docs/1"
    kept = {(r.kind, r.key): r for r in await records(maker)}
    assert sorted(kept) == [
        ("comment", "<!-- steward:plan -->"),
        ("labels", "duplicate"),
        ("pull", "steward/docs/1"),
        ("status", f"{'a' * 40}:steward/review"),
    ]
    assert kept[("pull", "steward/docs/1")].data == {
        "title": "Docs",
        "head": "steward/docs/1",
        "base": "main",
    }
    assert all(r.scope == "r-0123456789" and r.workflow == "docs" for r in kept.values())


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
async def test_a_write_the_client_does_not_know_is_refused_before_it_leaves(
    client: ShadowClient, method: str
) -> None:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        route = router.route().mock(return_value=httpx.Response(204))
        with pytest.raises(ShadowWriteRefused, match=method):
            await client._json(method, f"repos/{REPO.full_name}/issues/1/lock")
    assert not route.called
