"""Playing a run's recorded model responses back, in order, with no model (`steward runs replay`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo, FunctionModel

from app.mcp_servers import McpServer
from jobs.agent.engine import EngineModel
from jobs.agent.traced import load_response
from jobs.ledger.views import RunTrace


class ReplayExhausted(RuntimeError):
    """The replayed agent asked for more responses than the run recorded: it took another path."""


@dataclass(frozen=True)
class Recorded:
    """What a run did that a replay compares against: its responses, its tool calls, its prices."""

    responses: list[ModelResponse]
    calls: list[tuple[str, str]]
    """(tool name, arguments digest) in order, refused ones included."""
    costs: list[float]


def recorded(trace: RunTrace) -> Recorded:
    responses, calls, costs = [], [], []
    for step in trace.steps:
        if step.step_kind == "model" and step.detail and "response" in step.detail:
            responses.append(load_response(step.detail["response"]))
            costs.append(step.cost)
        elif step.step_kind == "tool":
            calls.append((step.name, str((step.detail or {}).get("arguments_sha256", ""))))
    return Recorded(responses, calls, costs)


def tool_calls(trace: RunTrace) -> list[tuple[str, str]]:
    return recorded(trace).calls


def replay_model(found: Recorded, servers: Sequence[McpServer] = ()) -> EngineModel:
    """A model answering each request with the next recorded response, at its recorded cost; `servers` are
    the operator's external MCP servers, which the replayed calls reach again."""
    queue = list(found.responses)
    costs = list(found.costs)

    def answer(_messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        if not queue:
            raise ReplayExhausted(
                f"the run recorded {len(found.responses)} response(s); the replay asked for more"
            )
        return queue.pop(0)

    def price(_input: int, _output: int) -> float:
        return costs.pop(0) if costs else 0.0

    return EngineModel(FunctionModel(answer, model_name="replay"), price, servers=servers)
