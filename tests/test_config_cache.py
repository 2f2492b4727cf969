"""load_repo_config through the githubkit adapter (respx) with a real Redis: one parse per blob sha."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import respx
from redis.asyncio import Redis

import app.config.loader as loader
from app.config.cache import MemoryConfigCache, RedisConfigCache
from app.config.loader import ConfigResult, load_repo_config, parse_config
from app.constants import CONFIG_PATH
from app.github.client import installation_client
from app.github.protocol import RepoId
from app.github.retrying import RetryPolicy
from app.settings import Settings
from tests.github_mock import API, FakeGitHub

pytestmark = pytest.mark.anyio

REPO = RepoId("Codertocat", "Hello-World")
FAST = RetryPolicy(max_tries=2, backoff=0.01, max_rate_wait=0.5)


@pytest.fixture
def github() -> FakeGitHub:
    return FakeGitHub()


@pytest.fixture
def api(github: FakeGitHub) -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        github.install(router)
        yield router


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every blob the loader parses (so a cache hit is visible)."""
    seen: list[str] = []

    def counting(text: str, source_sha: str | None = None) -> ConfigResult:
        seen.append(source_sha or "")
        return parse_config(text, source_sha)

    monkeypatch.setattr(loader, "parse_config", counting)
    return seen


async def test_no_file_means_defaults(settings: Settings, api: respx.MockRouter, redis: Redis) -> None:
    gh = await installation_client(settings, 1, REPO, {"contents": "read"}, policy=FAST)
    result = await load_repo_config(gh, REPO, redis)
    assert result == ConfigResult()
    assert api["contents"].calls.last.request.url.path.endswith(f"/contents/{CONFIG_PATH}")


async def test_each_blob_is_parsed_once_and_shared_through_redis(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter, redis: Redis, parses: list[str]
) -> None:
    github.files[CONFIG_PATH] = "prefix: /bot\n"
    gh = await installation_client(settings, 1, REPO, {"contents": "read"}, policy=FAST)
    first = await load_repo_config(gh, REPO, redis)
    again = await load_repo_config(gh, REPO, RedisConfigCache(redis))  # another worker, same Redis
    assert first.config.prefix == again.config.prefix == "/bot"
    assert first.source_sha is not None and len(first.source_sha) == 40
    assert parses == [first.source_sha]
    assert await redis.exists(RedisConfigCache.key(first.source_sha)) == 1

    github.files[CONFIG_PATH] = "prefix: /bot2\nnoise: {runs_per_day: x}\n"  # a new commit: a new blob
    changed = await load_repo_config(gh, REPO, redis)
    assert changed.source_sha != first.source_sha and len(parses) == 2
    assert [(e.field, e.line) for e in changed.errors] == [("noise.runs_per_day", 2)]
    cached = await load_repo_config(gh, REPO, redis)
    assert cached == changed and len(parses) == 2  # errors are cached too


async def test_a_corrupt_cache_entry_is_parsed_again(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter, redis: Redis, parses: list[str]
) -> None:
    github.files[CONFIG_PATH] = "prefix: /bot\n"
    gh = await installation_client(settings, 1, REPO, {"contents": "read"}, policy=FAST)
    sha = (await load_repo_config(gh, REPO, redis)).source_sha
    assert sha is not None
    await redis.set(RedisConfigCache.key(sha), b'{"written": "by another version"}')
    assert (await load_repo_config(gh, REPO, redis)).config.prefix == "/bot"
    assert parses == [sha, sha]


async def test_in_process_lru_is_bounded(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter, parses: list[str]
) -> None:
    cache = MemoryConfigCache(size=2)
    gh = await installation_client(settings, 1, REPO, {"contents": "read"}, policy=FAST)
    shas = {}
    for name in ("a", "b", "a", "c", "b"):
        github.files[CONFIG_PATH] = f"prefix: /{name}x\n"
        result = await load_repo_config(gh, REPO, cache)
        assert result.config.prefix == f"/{name}x"
        shas[name] = result.source_sha
    # a and b parsed; a hit; c parsed (evicting b, the least recently used); b parsed again
    assert parses == [shas["a"], shas["b"], shas["c"], shas["b"]]


async def test_an_alias_bomb_leaves_only_a_small_entry_in_redis(
    settings: Settings, github: FakeGitHub, api: respx.MockRouter, redis: Redis
) -> None:
    """A 62 KB file that expands to 267 MiB: refused before it is built, and cached as one short error."""
    github.files[CONFIG_PATH] = "allowed_bots: [&x " + "a" * 20_000 + ", " + ",".join(["*x"] * 14_000) + "]\n"
    gh = await installation_client(settings, 1, REPO, {"contents": "read"}, policy=FAST)
    result = await load_repo_config(gh, REPO, redis)
    assert result.source_sha is not None
    assert [e.field for e in result.errors] == ["(file)"] and "aliases" in result.errors[0].message
    assert result.config.allowed_bots == []
    stored = await redis.strlen(RedisConfigCache.key(result.source_sha))
    assert 0 < stored < 4096
