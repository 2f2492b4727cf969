"""The agent engine's model from settings: an OpenAI-compatible or Anthropic endpoint, retried; its cost."""

from __future__ import annotations

from typing import Protocol

import httpx2
from anthropic import AsyncAnthropic
from openai import AsyncOpenAI
from pydantic_ai.models import Model
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.anthropic import AnthropicProvider
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider

from app.github.redact import register_secret
from app.settings import ModelPrices, Settings, SettingsError
from jobs.agent.retry import RETRY_POLICY, AttemptHook, RetryingTransport, RetryPolicy

OPENAI_API_URL = "https://api.openai.com/v1"
ANTHROPIC_API_URL = "https://api.anthropic.com"
COMPATIBLE_NAME = "openai-compatible"
"""The provider name recorded on responses from an OpenAI-compatible endpoint that is not OpenAI's own API."""
NO_KEY = "api-key-not-set"
"""What the OpenAI SDK gets for a local endpoint without a key: it insists on one, and would otherwise read
OPENAI_API_KEY from the environment and send it to whatever STEWARD_MODEL_BASE_URL names."""
CONNECT_TIMEOUT = 5.0
TOKENS_PER_PRICE_UNIT = 1_000_000

NOT_CONFIGURED = (
    "no model is configured for the agent engine: set STEWARD_MODEL_PROVIDER (openai or anthropic), "
    "STEWARD_MODEL_NAME and STEWARD_MODEL_PRICES, plus STEWARD_MODEL_BASE_URL for an endpoint other than the "
    "provider's own API and STEWARD_MODEL_API_KEY if it needs a key"
)


class ModelNotConfigured(SettingsError):
    """The agent engine was asked for, but the settings name no model."""

    def __init__(self) -> None:
        super().__init__(NOT_CONFIGURED)


class TokenUsage(Protocol):
    """Token counts as pydantic-ai reports them, per request (RequestUsage) or per run (RunUsage)."""

    @property
    def input_tokens(self) -> int: ...

    @property
    def output_tokens(self) -> int: ...


def cost(usage: TokenUsage, prices: ModelPrices) -> float:
    """What these tokens cost at the operator's prices (per million tokens)."""
    spent = usage.input_tokens * prices.input_per_mtok + usage.output_tokens * prices.output_per_mtok
    return spent / TOKENS_PER_PRICE_UNIT


def model_client(
    policy: RetryPolicy = RETRY_POLICY,
    *,
    on_attempt: AttemptHook | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> httpx2.AsyncClient:
    """The HTTP client model requests go through: retried per `policy`, each attempt shown to `on_attempt`.

    `transport` is the wire (a real connection pool by default; tests pass a mock). Close the client, e.g.
    `async with model_client(...) as http:`, when the run is over: the provider does not own it.
    """
    wire = transport or httpx2.AsyncHTTPTransport()
    return httpx2.AsyncClient(
        transport=RetryingTransport(wire, policy, on_attempt),
        timeout=httpx2.Timeout(policy.attempt_timeout, connect=CONNECT_TIMEOUT),
    )


def build_model(settings: Settings, *, http_client: httpx2.AsyncClient | None = None) -> Model:
    """The configured model, its SDK's own retries off so that `http_client`'s policy is the only one.

    Without `http_client`, one with the default policy and no attempt hook is made, which nothing closes: an
    engine that counts attempts or ends runs passes its own from `model_client`.
    """
    if settings.model_provider is None or settings.model_name is None:
        raise ModelNotConfigured()
    http = http_client or model_client()
    key = settings.model_api_key.get_secret_value() if settings.model_api_key else None
    if key:
        register_secret(key)  # the log filter then masks it wherever it might surface
    timeout = http.timeout
    if settings.model_provider == "anthropic":
        anthropic = AsyncAnthropic(
            api_key=key,
            base_url=settings.model_base_url or ANTHROPIC_API_URL,
            http_client=http,
            max_retries=0,
            timeout=timeout,
        )
        return AnthropicModel(settings.model_name, provider=AnthropicProvider(anthropic_client=anthropic))
    openai = AsyncOpenAI(
        api_key=key or NO_KEY,
        base_url=settings.model_base_url or OPENAI_API_URL,
        http_client=http,
        max_retries=0,
        timeout=timeout,
    )
    if settings.model_base_url is None:
        return OpenAIChatModel(settings.model_name, provider=OpenAIProvider(openai_client=openai))
    # Another server speaking Chat Completions: the portable profile, without features only OpenAI's API has.
    provider = OpenAICompatibleProvider(COMPATIBLE_NAME, openai_client=openai)
    return OpenAIChatModel(settings.model_name, provider=provider)
