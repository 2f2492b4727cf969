"""The agent's budget: counted before each request and call (never one past), narrowed but never widened."""

from __future__ import annotations

import pytest

from app.config.model import RepoConfig
from jobs.agent.budget import BudgetExceeded, Meter
from policies.budget import Budget
from policies.loader import effective_policy, load_policy, narrowing_problems


def test_requests_and_tool_calls_stop_exactly_at_the_limit() -> None:
    meter = Meter(Budget(model_requests=3, tool_calls=2))
    for _ in range(3):
        meter.before_request()
    with pytest.raises(BudgetExceeded) as stopped:
        meter.before_request()
    assert (stopped.value.budget, meter.requests) == ("model_requests", 3)
    meter.before_tool_call()
    meter.before_tool_call()
    with pytest.raises(BudgetExceeded, match="`tool_calls` budget"):
        meter.before_tool_call()
    assert meter.tool_calls == 2


@pytest.mark.parametrize(
    ("field", "tokens_in", "tokens_out", "cost"),
    [("input_tokens", 101, 0, 0.0), ("output_tokens", 0, 11, 0.0), ("cost", 0, 0, 0.02)],
)
def test_a_response_past_a_token_or_cost_budget_stops_the_run(
    field: str, tokens_in: int, tokens_out: int, cost: float
) -> None:
    meter = Meter(Budget(input_tokens=100, output_tokens=10, cost=0.01))
    meter.before_request()
    with pytest.raises(BudgetExceeded) as stopped:
        meter.after_response(tokens_in, tokens_out, cost)
    assert stopped.value.budget == field


def test_spent_time_stops_the_next_request() -> None:
    meter = Meter(Budget(wall_time=5), started=0.0)  # started long ago on the monotonic clock
    with pytest.raises(BudgetExceeded, match="wall_time"):
        meter.before_request()


def test_a_repository_may_lower_a_budget_but_never_raise_it() -> None:
    config = RepoConfig.model_validate(
        {"workflows": {"docs": {"budget": {"tool_calls": 10, "model_requests": 1000, "wall_time": "5m"}}}}
    )
    shipped = load_policy("docs")
    policy = effective_policy(shipped, config.workflows.docs)
    assert policy.budget.tool_calls == 10 and policy.budget.wall_time == 300
    assert policy.budget.model_requests == shipped.budget.model_requests  # the wider ask is dropped
    problems = narrowing_problems(shipped, config.workflows.docs, "workflows.docs")
    assert [p.field for p in problems] == ["workflows.docs.budget.model_requests"]
    assert "may only be lowered" in problems[0].message


def test_each_http_retry_of_the_operators_model_is_one_more_request_against_the_budget() -> None:
    from jobs.agent.operator import Retries

    meter = Meter(Budget(model_requests=2))
    retries = Retries(meter)
    meter.before_request()  # the request itself (counted by the metered model)
    retries(1)  # its first attempt: already counted
    retries(2)  # a retry after a 429: one more
    assert meter.requests == 2
    with pytest.raises(BudgetExceeded, match="model_requests"):
        retries(3)  # a third attempt would pass the budget: refused before it is sent
