"""What one agent run may spend. The policy sets the ceiling; a repository may only lower it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

BUDGET_FIELDS = ("model_requests", "input_tokens", "output_tokens", "cost", "tool_calls", "wall_time")


class Budget(BaseModel):
    """Per-run ceilings of the agent engine: the run stops at the first one reached, keeping nothing."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)

    model_requests: int = Field(default=30, ge=1)
    """Most requests to the model (each retry of a failed request counts)."""
    input_tokens: int = Field(default=400_000, ge=1)
    """Most input (prompt) tokens over all requests."""
    output_tokens: int = Field(default=40_000, ge=1)
    """Most output (completion) tokens over all requests."""
    cost: float = Field(default=2.0, ge=0)
    """Most cost in the currency of STEWARD_MODEL_PRICES (usually US dollars)."""
    tool_calls: int = Field(default=100, ge=1)
    """Most tool calls, refused ones included."""
    wall_time: float = Field(default=900.0, gt=0)
    """Wall seconds the agent may take, tool calls included."""

    def narrowed_by(self, asked: dict[str, float]) -> Budget:
        """The lower of this ceiling and each value asked for (unknown or unset fields keep the ceiling)."""
        values = self.model_dump()
        for name, value in asked.items():
            if name in values and value is not None:
                values[name] = min(values[name], value)
        return Budget(**values)
