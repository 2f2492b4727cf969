"""The agent's budget, counted as it is spent and checked before each model request and tool call.

Fails closed: the check that would let one more request or call through raises instead, so a run with a
10-request budget makes at most 10 requests, retries included, and a run past its time stops at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from policies.budget import Budget


class BudgetExceeded(Exception):
    """A budget stopped the run; `budget` names which (model_requests, input_tokens, ..., wall_time)."""

    def __init__(self, budget: str, limit: float, used: float) -> None:
        self.budget, self.limit, self.used = budget, limit, used
        super().__init__(f"the `{budget}` budget ({limit:g}) is spent: {used:g} used")


@dataclass
class Meter:
    """What the run has spent so far against its budget."""

    budget: Budget
    started: float = field(default_factory=time.monotonic)
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    tool_calls: int = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _time(self) -> None:
        if self.elapsed() >= self.budget.wall_time:
            raise BudgetExceeded("wall_time", self.budget.wall_time, round(self.elapsed(), 1))

    def _spent(self) -> None:
        for name, used in (
            ("input_tokens", self.input_tokens),
            ("output_tokens", self.output_tokens),
            ("cost", self.cost),
        ):
            limit = getattr(self.budget, name)
            if used >= limit:
                raise BudgetExceeded(name, limit, used)

    def before_request(self) -> None:
        """Count one model request (an HTTP attempt), or raise if it would go past a budget."""
        self._time()
        self._spent()
        if self.requests >= self.budget.model_requests:
            raise BudgetExceeded("model_requests", self.budget.model_requests, self.requests)
        self.requests += 1

    def after_response(self, input_tokens: int, output_tokens: int, cost: float) -> None:
        """Add a response's usage; raise when that went past a budget (its tool calls are never run)."""
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cost += cost
        for name, used in (
            ("input_tokens", self.input_tokens),
            ("output_tokens", self.output_tokens),
            ("cost", self.cost),
        ):
            limit = getattr(self.budget, name)
            if used > limit:
                raise BudgetExceeded(name, limit, used)
        self._time()

    def before_tool_call(self) -> None:
        """Count one tool call (refused ones too), or raise if it would go past a budget."""
        self._time()
        if self.tool_calls >= self.budget.tool_calls:
            raise BudgetExceeded("tool_calls", self.budget.tool_calls, self.tool_calls)
        self.tool_calls += 1
