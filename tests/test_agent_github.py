"""The agent engine on GitHub: `engine: agent` in the repository's config, a real worker, Redis, ledger,
sandbox and git; GitHub's HTTP mocked with respx, the model played by pydantic-ai's FunctionModel."""

from __future__ import annotations

import json
import os

import pytest
import respx
from pydantic import SecretStr
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.usage import RequestUsage

from app.settings import ModelPrices, Settings
from jobs.agent.engine import EngineModel
from jobs.ledger import RunState
from tests.run_fixtures import BRANCH, MAINTAINER, FakeRunGitHub, Remote, git, runs, say, trace_of

pytestmark = [pytest.mark.anyio, pytest.mark.docker]
KEY = "sk-test-" + os.urandom(12).hex()


@pytest.fixture
def model_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "model_provider": "openai", "model_base_url": "http://127.0.0.1:9/v1", "model_name": "local-7b",
            "model_api_key": SecretStr(KEY),
            "model_prices": ModelPrices(input_per_mtok=1.0, output_per_mtok=2.0),
        }
    )  # fmt: skip


def script(_messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    asked = sum(1 for m in _messages if m.kind == "response")
    usage = RequestUsage(input_tokens=1000, output_tokens=100)
    if asked == 0:
        return ModelResponse(parts=[ToolCallPart("get_issue", {})], usage=usage)
    if asked == 1:
        text = "# Usage\n\nPass `--shout` to greet in capitals.\n"
        return ModelResponse(parts=[ToolCallPart("write_file", {"path": "docs/usage.md", "content": text})],
                             usage=usage)  # fmt: skip
    return ModelResponse(parts=[TextPart("Documented --shout.")], usage=usage)


async def test_an_agent_run_on_github_plans_works_proposes_and_accounts_for_its_spend(
    model_settings: Settings,
    github: FakeRunGitHub,
    remote: Remote,
    api: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def operator(_settings: Settings) -> EngineModel:
        return EngineModel(FunctionModel(script, model_name="local-7b"), lambda i, o: (i + 2 * o) / 1e6)

    monkeypatch.setattr("jobs.agent.operator.operator_model", operator)
    github.files[".github/steward.yml"] = (
        "workflows:\n  docs:\n    engine: agent\n    approval:\n      required: false\n"
        "    budget:\n      tool_calls: 20\n"
    )
    github.add_comment(7, "Please also note it works with --times.", "carol")
    await say(model_settings, "/steward docs document the --shout flag", MAINTAINER, 3001)
    (run,) = await runs(model_settings)
    assert run.state == RunState.PROPOSED, run
    (plan,) = github.plan_comments()
    assert "**Model:** `openai:local-7b`" in plan["body"] and "20 tool calls" in plan["body"]
    assert "agent engine" in plan["body"]
    head = remote.sha(BRANCH)
    assert head is not None
    assert "greet in capitals" in git(remote.bare, "show", f"{head}:docs/usage.md")
    (pull,) = github.pulls
    assert "### Agent" in pull["body"] and "3 model request(s)" in pull["body"]
    assert "3000 input and 300 output tokens" in pull["body"] and "2 tool call(s)" in pull["body"]
    trace = await trace_of(model_settings, run.id)
    assert [s.name for s in trace.steps if s.step_kind == "tool"] == ["get_issue", "write_file"]
    issue_step = next(s for s in trace.steps if s.name == "get_issue")
    assert "works with --times" in issue_step.output_excerpt and "BEGIN DATA" in issue_step.output_excerpt
    assert run.tool_calls == 2 and run.model_tokens == 3300
    assert run.cost_usd == pytest.approx(3 * (1000 + 200) / 1e6)
    sent = json.dumps([call.request.content.decode(errors="replace") for call in api.calls])
    assert KEY not in sent  # nothing that went to GitHub carries the model's key
