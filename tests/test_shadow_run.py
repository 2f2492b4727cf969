"""A docs run in shadow mode, end to end: real arq worker on real Redis, real SQLite ledger, real Docker
sandbox and real git; GitHub's HTTP mocked with respx, where every write route fails the test. The run works
in full, posts and pushes nothing, needs no approval, and the ledger holds what it would have done."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic_ai.models.function import FunctionModel

from app.settings import ModelPrices, Settings
from jobs.agent.engine import EngineModel
from jobs.db import make_engine, sessions
from jobs.ledger import RunState
from jobs.ledger.render import render_timeline
from jobs.shadow.store import ShadowRecord, records
from tests.github_mock import API
from tests.run_fixtures import BRANCH, ISSUE, MAINTAINER, FakeRunGitHub, Remote, runs, say, trace_of
from tests.test_agent_github import script
from tests.test_docs_on_landed import PULL, deliver, merged_event

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

SHADOW_CONFIG = "workflows:\n  docs:\n    mode: shadow\n    approval:\n      required: true\n"
TOKEN_PATH = "/app/installations/1/access_tokens"
"""The one POST a shadow run makes: minting its installation token (authentication, not a write)."""


@pytest.fixture
def forbidden() -> list[str]:
    return []


@pytest.fixture
def api(github: FakeRunGitHub, forbidden: list[str]) -> Iterator[respx.MockRouter]:
    """The fake's read routes; each write route, and anything unrouted, is refused and noted."""

    def refuse(request: httpx.Request) -> httpx.Response:
        forbidden.append(f"{request.method} {request.url.path}")
        return httpx.Response(
            403, json={"message": "Resource not accessible by integration", "status": "403"}
        )

    with respx.mock(base_url=API, assert_all_called=False) as router:
        github.install(router)
        for name in ("create_comment", "update_comment", "create_pull", "status"):
            router.routes[name].side_effect = refuse
        router.route().mock(side_effect=refuse)  # PUT, DELETE, labels, anything else
        yield router


async def shadow_records(settings: Settings) -> list[ShadowRecord]:
    engine = make_engine(settings.db_url)
    try:
        return await records(sessions(engine))
    finally:
        await engine.dispose()


def writes(api: respx.MockRouter) -> list[str]:
    calls: list[Any] = list(api.calls)
    return [
        f"{c.request.method} {c.request.url.path}"
        for c in calls
        if c.request.method != "GET" and c.request.url.path != TOKEN_PATH
    ]


async def test_a_shadow_docs_run_works_in_the_sandbox_and_records_instead_of_acting(
    settings: Settings, github: FakeRunGitHub, remote: Remote, api: respx.MockRouter, forbidden: list[str]
) -> None:
    github.files[".github/steward.yml"] = SHADOW_CONFIG
    base = remote.sha()
    await say(settings, "/steward docs mention the --shout flag", MAINTAINER, 3001)

    (run,) = await runs(settings)
    assert run.mode == "shadow"
    assert run.state == RunState.CLOSED, "no approval asked (a shadow run changes nothing), and nothing open"
    assert forbidden == [] and writes(api) == []
    assert github.bot_comments(ISSUE) == [] and github.pulls == [] and github.statuses == []
    assert remote.sha(BRANCH) is None and remote.sha() == base, "nothing was pushed"
    # The work phase's token could not have written: every permission was read.
    work_token = github.token_bodies[-1]["permissions"]
    assert work_token and set(work_token.values()) == {"read"}

    trace = await trace_of(settings, run.id)
    assert run.sandbox_digest and run.sandbox_digest.startswith("sha256:"), "the real sandbox ran"
    execs = [step for step in trace.steps if step.name == "exec"]
    assert execs and {step.command for step in execs} == {"python3 -m sample --help"}  # in the sandbox
    commit = [step for step in trace.steps if step.name == "commit"]
    assert commit and commit[0].command == f"commit {BRANCH}"  # committed on the host, not pushed
    assert "shadow mode" in trace.transitions[-1].reason
    assert "(builtin engine, shadow mode: recorded, not posted)" in render_timeline(trace)

    found = {(r.kind, r.key.split(" ")[0]): r for r in await shadow_records(settings)}
    plan = found[("comment", "<!--")]
    assert "Update CHANGELOG.md: add `#7` under Unreleased → Added" in plan.body
    assert "/steward approve" not in plan.body  # nothing waits for approval
    push = found[("push", BRANCH)]
    assert sorted(push.data["files"]) == ["CHANGELOG.md", "README.md", "docs/usage.md"]
    assert "diff --git a/CHANGELOG.md b/CHANGELOG.md" in push.body and "--shout" in push.body
    assert push.data["commit"] == trace.proposals[0].commit_sha and trace.proposals[0].pr_number is None
    pull = found[("pull", BRANCH)]
    assert pull.data["base"] == "main" and pull.data["title"] and f"steward runs show {run.id}" in pull.body
    assert all(r.scope == run.id and r.workflow == "docs" and r.number == ISSUE for r in found.values())


async def test_a_shadow_workflow_answers_no_command_on_github(
    settings: Settings, github: FakeRunGitHub, remote: Remote, api: respx.MockRouter, forbidden: list[str]
) -> None:
    """A refused `/steward docs` (a triage-level person) would be answered in normal mode; not in shadow."""
    github.files[".github/steward.yml"] = SHADOW_CONFIG
    github.permissions["tom"] = "triage"
    await say(settings, "/steward docs", "tom", 3101)
    assert await runs(settings) == []
    assert forbidden == [] and writes(api) == []


@pytest.fixture
def model_settings(settings: Settings) -> Settings:
    """The operator's model configured (the test replaces it with pydantic-ai's FunctionModel)."""
    return settings.model_copy(
        update={
            "model_provider": "openai",
            "model_base_url": "http://127.0.0.1:9/v1",
            "model_name": "local-7b",
            "model_prices": ModelPrices(input_per_mtok=1.0, output_per_mtok=2.0),
        }
    )


async def test_a_shadow_agent_run_drives_the_model_and_records_its_proposal(
    model_settings: Settings,
    github: FakeRunGitHub,
    remote: Remote,
    api: respx.MockRouter,
    forbidden: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def operator(_settings: Settings) -> EngineModel:
        return EngineModel(FunctionModel(script, model_name="local-7b"), lambda i, o: (i + 2 * o) / 1e6)

    monkeypatch.setattr("jobs.agent.operator.operator_model", operator)
    github.files[".github/steward.yml"] = "workflows:\n  docs:\n    engine: agent\n    mode: shadow\n"
    await say(model_settings, "/steward docs document the --shout flag", MAINTAINER, 3201)
    (run,) = await runs(model_settings)
    assert run.mode == "shadow" and run.state == RunState.CLOSED, run
    assert run.tool_calls == 2 and run.model_tokens == 3300, "the model ran, and its spend is accounted"
    assert forbidden == [] and writes(api) == [] and remote.sha(BRANCH) is None
    found = {(r.kind, r.key): r for r in await shadow_records(model_settings)}
    push, pull = found[("push", BRANCH)], found[("pull", BRANCH)]
    assert "docs/usage.md" in push.data["files"] and "greet in capitals" in push.body
    assert "### Agent" in pull.body and "3 model request(s)" in pull.body


async def test_a_shadow_run_that_fails_tells_nobody_on_github(
    settings: Settings, github: FakeRunGitHub, remote: Remote, api: respx.MockRouter, forbidden: list[str]
) -> None:
    """Normal runs report a final failure in a comment; a shadow run's failure stays in the ledger."""
    github.files[".github/steward.yml"] = SHADOW_CONFIG
    api.routes["issue"].side_effect = None
    api.routes["issue"].return_value = httpx.Response(404, json={"message": "Not Found", "status": "404"})
    await say(settings, "/steward docs", MAINTAINER, 3301)
    (run,) = await runs(settings)
    assert run.mode == "shadow" and run.state == RunState.FAILED
    assert forbidden == [] and writes(api) == []


async def test_a_merge_starts_a_shadow_docs_run_that_only_records(
    settings: Settings, github: FakeRunGitHub, remote: Remote, api: respx.MockRouter, forbidden: list[str]
) -> None:
    """The trigger shadow mode is for: every merge gets the docs run it would get, silently."""
    github.files[".github/steward.yml"] = SHADOW_CONFIG + "    on: [merged]\n"
    await deliver(settings, "pull_request", merged_event(), "d-merge")
    (run,) = await runs(settings, PULL)
    assert run.mode == "shadow" and run.event == f"merged by {MAINTAINER}" and run.state == RunState.CLOSED
    assert forbidden == [] and writes(api) == [] and remote.sha(f"steward/docs/{PULL}") is None
    kinds = {r.kind for r in await shadow_records(settings) if r.scope == run.id}
    assert {"comment", "push", "pull"} <= kinds
