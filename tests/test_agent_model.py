"""The model provider path over respx: real-shaped tool calls and usage, bounded retries, a secret key."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr
from pydantic_ai import Agent
from pydantic_ai.exceptions import ModelHTTPError

from app.github.redact import redact
from app.settings import ModelPrices, Settings
from jobs.agent.model import build_model, cost, model_client
from jobs.agent.retry import RetryPolicy
from tests.model_mock import (
    ANTHROPIC_BASE_URL,
    BASE_URL,
    CHAT_URL,
    MESSAGES_URL,
    RespxWire,
    answer,
    anthropic_stream,
    failure,
    tool_call,
)

pytestmark = pytest.mark.anyio

PRICES = ModelPrices(input_per_mtok=3.0, output_per_mtok=15.0)
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, deadline=5.0)
"""Short waits, so a test of three attempts takes milliseconds."""


class BudgetStop(Exception):
    """What an engine's hook raises when the next attempt would exceed the budget."""


@pytest.fixture
def api_key() -> str:
    return f"sk-test-{secrets.token_urlsafe(24)}"


@pytest.fixture
def router() -> Iterator[respx.Router]:
    router = respx.Router(assert_all_called=True, assert_all_mocked=True)
    yield router
    router.assert_all_called()


def openai_settings(key: str) -> Settings:
    return Settings(
        model_provider="openai",
        model_base_url=BASE_URL,
        model_name="qwen2.5-coder-7b-instruct",
        model_api_key=SecretStr(key),
        model_prices=PRICES,
    )


def adder(settings: Settings, router: respx.Router, attempts: list[int], policy: RetryPolicy = FAST) -> Agent:
    """An agent whose one tool runs here; the model behind it is whatever the router answers."""
    http = model_client(policy, on_attempt=attempts.append, transport=RespxWire(router))
    agent = Agent(build_model(settings, http_client=http))

    @agent.tool_plain
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    return agent


def sent(route: respx.Route, index: int) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls[index].request.content)
    return body


async def test_a_tool_call_then_an_answer_runs_the_tool_and_counts_tokens_and_cost(
    router: respx.Router, api_key: str
) -> None:
    route = router.post(CHAT_URL).mock(
        side_effect=[
            tool_call("add", {"a": 2, "b": 3}, prompt=812, completion=24),
            answer("2 + 3 = 5", prompt=851, completion=9),
        ]
    )
    attempts: list[int] = []
    result = await adder(openai_settings(api_key), router, attempts).run("What is 2 + 3? Use the tool.")

    assert result.output == "2 + 3 = 5"
    assert [tool["function"]["name"] for tool in sent(route, 0)["tools"]] == ["add"]
    tool_reply = sent(route, 1)["messages"][-1]
    assert tool_reply == {"role": "tool", "tool_call_id": "call_1", "content": "5"}
    usage = result.usage
    assert (usage.input_tokens, usage.output_tokens, usage.requests, usage.tool_calls) == (1663, 33, 2, 1)
    assert cost(usage, PRICES) == pytest.approx((1663 * 3.0 + 33 * 15.0) / 1_000_000)
    assert attempts == [1, 1]


@pytest.mark.parametrize("status", [429, 500, 502, 503])
async def test_a_rate_limit_or_a_server_error_is_retried_and_each_attempt_is_counted(
    router: respx.Router, api_key: str, status: int
) -> None:
    route = router.post(CHAT_URL).mock(side_effect=[failure(status), answer("done", prompt=10, completion=2)])
    attempts: list[int] = []
    result = await adder(openai_settings(api_key), router, attempts).run("hello")

    assert result.output == "done"
    assert route.call_count == 2
    assert attempts == [1, 2]
    assert sent(route, 0) == sent(route, 1)  # the retry resends the same request
    assert result.usage.requests == 1  # pydantic-ai sees one request; the hook saw both attempts


async def test_repeated_server_errors_stop_after_the_bound_with_the_status_in_the_error(
    router: respx.Router, api_key: str
) -> None:
    route = router.post(CHAT_URL).mock(return_value=failure(503))
    attempts: list[int] = []
    with pytest.raises(ModelHTTPError) as caught:
        await adder(openai_settings(api_key), router, attempts).run("hello")

    assert route.call_count == FAST.attempts == 3  # the SDK's own retries are off: 3, not 3 x 3
    assert attempts == [1, 2, 3]
    assert caught.value.status_code == 503
    assert "status_code: 503" in str(caught.value) and "the server answered 503" in str(caught.value)


async def test_an_error_that_is_not_transient_is_not_retried(router: respx.Router, api_key: str) -> None:
    route = router.post(CHAT_URL).mock(return_value=httpx.Response(400, json={"error": {"message": "bad"}}))
    with pytest.raises(ModelHTTPError) as caught:
        await adder(openai_settings(api_key), router, []).run("hello")
    assert (route.call_count, caught.value.status_code) == (1, 400)


async def test_a_hook_that_refuses_the_retry_stops_the_run_before_it_is_sent(
    router: respx.Router, api_key: str
) -> None:
    route = router.post(CHAT_URL).mock(side_effect=[failure(429), answer("never", prompt=1, completion=1)])

    def budget(attempt: int) -> None:
        if attempt > 1:
            raise BudgetStop("model_requests")

    http = model_client(FAST, on_attempt=budget, transport=RespxWire(router))
    agent = Agent(build_model(openai_settings(api_key), http_client=http))
    with pytest.raises(BudgetStop, match="model_requests"):
        await agent.run("hello")
    assert route.call_count == 1


async def test_the_api_key_is_sent_as_the_bearer_and_appears_in_no_log_repr_or_error(
    router: respx.Router, api_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    route = router.post(CHAT_URL).mock(
        side_effect=[
            failure(500),
            tool_call("add", {"a": 1, "b": 1}, prompt=5, completion=5),
            failure(503),
            failure(503),
            failure(503),
        ]
    )
    settings = openai_settings(api_key)
    with caplog.at_level(logging.DEBUG), pytest.raises(ModelHTTPError) as caught:
        await adder(settings, router, []).run("hello")

    assert route.call_count == 5
    assert {call.request.headers["authorization"] for call in route.calls} == {f"Bearer {api_key}"}
    assert any("model endpoint answered 500" in record.getMessage() for record in caplog.records)
    logged = caplog.text + "".join(repr(record.args) for record in caplog.records)
    assert api_key not in logged
    for text in (
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        str(caught.value),
        repr(caught.value),
    ):
        assert api_key not in text
    assert redact(f"echoed: {api_key}") == "echoed: ***"  # the log filter masks it, should anything echo it


async def test_an_anthropic_endpoint_gets_its_key_its_tools_and_its_retries(
    router: respx.Router, api_key: str
) -> None:
    route = router.post(MESSAGES_URL).mock(
        side_effect=[
            httpx.Response(
                529, json={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
            ),
            anthropic_stream(
                [
                    {
                        "type": "tool_use",
                        "id": "toolu_01A09q90qw90lq917835lq9",
                        "name": "add",
                        "input": {"a": 4, "b": 5},
                    }
                ],
                "tool_use",
                prompt=420,
                completion=31,
            ),
            anthropic_stream([{"type": "text", "text": "9"}], "end_turn", prompt=470, completion=3),
        ]
    )
    settings = Settings(
        model_provider="anthropic",
        model_base_url=ANTHROPIC_BASE_URL,
        model_name="claude-sonnet-4-5",
        model_api_key=SecretStr(api_key),
        model_prices=PRICES,
    )
    attempts: list[int] = []
    result = await adder(settings, router, attempts).run("What is 4 + 5?")

    assert result.output == "9"
    assert attempts == [1, 2, 1]
    assert {call.request.headers["authorization"] for call in route.calls} == {f"Bearer {api_key}"}
    assert [tool["name"] for tool in sent(route, 1)["tools"]] == ["add"]
    tool_result = sent(route, 2)["messages"][-1]["content"][0]
    assert (tool_result["type"], tool_result["tool_use_id"], tool_result["content"]) == (
        "tool_result",
        "toolu_01A09q90qw90lq917835lq9",
        [{"type": "text", "text": "9"}],
    )
    assert (result.usage.input_tokens, result.usage.output_tokens) == (890, 34)
    assert cost(result.usage, PRICES) == pytest.approx((890 * 3.0 + 34 * 15.0) / 1_000_000)
