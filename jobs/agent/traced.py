"""The model as the engine uses it: every request metered against the budget first, then traced.

Each request becomes a `model` step of the run: the messages new since the last request, the response, its
tokens, cost and latency. The responses recorded this way are what `steward runs replay` plays back.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter, ModelResponse
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings

from app.observability import tracing
from app.observability.metrics import MODEL_COST, MODEL_REQUESTS, MODEL_TOKENS
from jobs.agent.budget import Meter
from jobs.agent.spec import Price


@dataclass(frozen=True)
class ModelStep:
    """One model request as the trace keeps it."""

    new_messages: list[dict[str, Any]]
    response: dict[str, Any]
    input_tokens: int
    output_tokens: int
    cost: float
    duration: float
    summary: str
    unoffered: tuple[tuple[str, dict[str, Any]], ...] = ()
    """Calls the response asks for to tools the run does not offer (refused and recorded by the engine)."""


RecordModel = Callable[[ModelStep], Awaitable[None]]
MODEL_LABEL_CHARS = 64
"""Of the model's name as a metric label (the operator names one model: STEWARD_MODEL_NAME)."""


def bounded_model(name: str) -> str:
    return name[:MODEL_LABEL_CHARS] or "unknown"


def dump_messages(messages: list[ModelMessage]) -> list[dict[str, Any]]:
    dumped: list[dict[str, Any]] = ModelMessagesTypeAdapter.dump_python(messages, mode="json")
    return dumped


def load_response(data: dict[str, Any]) -> ModelResponse:
    (message,) = ModelMessagesTypeAdapter.validate_python([data])
    if not isinstance(message, ModelResponse):
        raise ValueError("the recorded step holds no model response")
    return message


def summary(response: ModelResponse) -> str:
    """`tool calls: a, b` or the first words of the text, for the trace's excerpt."""
    calls = [part.tool_name for part in response.tool_calls]
    if calls:
        return "tool calls: " + ", ".join(calls)
    return " ".join((response.text or "").split())[:200] or "(empty response)"


class MeteredModel(WrapperModel):
    """Checks the budget before each request and records each response as a step."""

    def __init__(
        self, wrapped: Any, meter: Meter, price: Price, record: RecordModel, *, offered: set[str]
    ) -> None:
        super().__init__(wrapped)
        self.meter, self.price, self.record, self.offered = meter, price, record, offered
        self._seen = 0

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        self.meter.before_request()
        name = self.wrapped.model_name
        with tracing.span("model request", {"gen_ai.request.model": name}) as span:
            started = time.monotonic()
            response = await self.wrapped.request(messages, model_settings, model_request_parameters)
            duration = time.monotonic() - started
            tokens_in, tokens_out = response.usage.input_tokens, response.usage.output_tokens
            cost = self.price(tokens_in, tokens_out)
            tracing.set_attributes(
                span, {"gen_ai.usage.input_tokens": tokens_in, "gen_ai.usage.output_tokens": tokens_out,
                       "steward.cost": cost, "steward.tool_calls": len(response.tool_calls)},
            )  # fmt: skip
        model = bounded_model(name)
        MODEL_REQUESTS.labels(model).inc()
        MODEL_TOKENS.labels(model, "input").inc(tokens_in)
        MODEL_TOKENS.labels(model, "output").inc(tokens_out)
        MODEL_COST.labels(model).inc(cost)
        new, self._seen = messages[self._seen :], len(messages) + 1
        await self.record(
            ModelStep(
                new_messages=dump_messages(new),
                response=dump_messages([response])[0],
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                cost=cost,
                duration=duration,
                summary=summary(response),
                unoffered=tuple(
                    (call.tool_name, call.args_as_dict())
                    for call in response.tool_calls
                    if call.tool_name not in self.offered
                ),
            )
        )
        self.meter.after_response(tokens_in, tokens_out, cost)
        return response
