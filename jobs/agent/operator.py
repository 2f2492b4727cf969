"""The operator's model (STEWARD_MODEL_*), as a run's engine uses it: built per run, every HTTP attempt
counted against that run's budget, its HTTP client closed when the run's work ends."""

from __future__ import annotations

from dataclasses import dataclass

from app.settings import Settings
from jobs.agent.budget import Meter
from jobs.agent.engine import EngineModel
from jobs.agent.model import build_model, cost, model_client


@dataclass
class Retries:
    """The retry hook's view of the run: a retry (attempt 2 and on) is one more request against the budget."""

    meter: Meter | None = None

    def __call__(self, attempt: int) -> None:
        if attempt > 1 and self.meter is not None:
            self.meter.before_request()


@dataclass(frozen=True)
class _Usage:
    input_tokens: int
    output_tokens: int


def operator_model(settings: Settings) -> EngineModel | None:
    """The configured model, or None when the operator set none (an agent plan then says what to set)."""
    if settings.model_provider is None or settings.model_name is None or settings.model_prices is None:
        return None
    prices = settings.model_prices
    retries = Retries()
    http = model_client(on_attempt=retries)
    model = build_model(settings, http_client=http)

    def price(n_in: int, n_out: int) -> float:
        return cost(_Usage(n_in, n_out), prices)

    return EngineModel(model, price, retries=retries, close=http.aclose, servers=tuple(settings.mcp_servers))
