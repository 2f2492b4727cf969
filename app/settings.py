"""Process settings, read once from STEWARD_* environment variables."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

import pydantic_settings
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from app.mcp_servers import McpServer, parse_mcp_servers
from app.settings_secrets import SecretFiles
from app.settings_secrets import SettingsError as SettingsError  # where every caller imports it from
from sandbox.images import DEFAULT_IMAGE

DEFAULT_EGRESS_ALLOWLIST = [
    "pypi.org",
    "files.pythonhosted.org",
    "registry.npmjs.org",
    "deb.debian.org",
]
DEFAULT_CACHE_MAX_BYTES = 2 * 1024**3
"""STEWARD_CACHE_MAX_BYTES's default: what all repositories' download caches may take together."""


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def otlp_headers(text: str) -> dict[str, str]:
    """`name=value,name=value` (values percent-encoded) as headers; an error names the item, never a value."""
    found: dict[str, str] = {}
    for index, item in enumerate(text.split(","), start=1):
        name, equals, value = item.partition("=")
        name = name.strip()
        if not equals or not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"item {index} is not `name=value` with a header name (e.g. authorization=...)")
        decoded = unquote(value.strip())
        if not decoded or any(c in decoded for c in "\r\n\0"):
            raise ValueError(f"the value of item {index} ({name}) is empty or holds a line break")
        found[name.lower()] = decoded
    return found


MODEL_FIELDS = ("model_provider", "model_base_url", "model_name", "model_api_key", "model_prices")
"""The settings that together name the agent engine's model; all unset means no model."""


class ModelPrices(BaseModel):
    """What the model costs per million tokens, in the currency the budgets' `cost` is counted in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_per_mtok: float = Field(ge=0, allow_inf_nan=False)
    """Price of a million input (prompt) tokens."""
    output_per_mtok: float = Field(ge=0, allow_inf_nan=False)
    """Price of a million output (completion) tokens."""


class Settings(BaseSettings):
    """Everything the processes (web, worker, CLI) read from the environment."""

    model_config = SettingsConfigDict(env_prefix="STEWARD_", extra="ignore")

    webhook_secret: SecretStr | None = None
    """The secret GitHub signs webhook deliveries with (the App's webhook secret). Each secret setting may
    instead be read from a file: STEWARD_<NAME>_FILE (e.g. STEWARD_WEBHOOK_SECRET_FILE=/run/secrets/x)."""
    app_id: int | None = None
    """The GitHub App's numeric id."""
    private_key: SecretStr | None = None
    """The App's private key as PEM text; or use STEWARD_PRIVATE_KEY_FILE (or STEWARD_PRIVATE_KEY_PATH)."""
    private_key_path: Path | None = None
    """A file holding the App's private key (PEM)."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    """Redis for the job queue, delivery de-duplication and locks."""
    database_url: SecretStr | None = None
    """SQLAlchemy URL of the run ledger (a secret: it may hold a password); unset means SQLite under
    STEWARD_DATA_DIR."""
    github_api_url: str = "https://api.github.com"
    """GitHub's REST API; for GitHub Enterprise Server use https://HOST/api/v3."""
    bot_login: str = "steward[bot]"
    """The App's bot account (`<app-slug>[bot]`): its own comments are ignored."""
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".local" / "share" / "steward")
    """Where the SQLite ledger and workspaces live by default."""
    sandbox_image: str = DEFAULT_IMAGE
    """The default sandbox image (`steward sandbox build`), tagged with the image's own version."""
    sandbox_images: list[str] = Field(default_factory=list)
    """More images a repository's `setup.image` may pick (JSON list); the default image is always allowed,
    any other is refused before a sandbox starts."""
    sandbox_transfer: Literal["auto", "bind", "archive"] = "auto"
    """How the workspace reaches the sandbox container: `bind` mounts the host directory (a local daemon);
    `archive` moves it through the Docker API into a volume per run (a daemon on another machine); `auto`
    binds unless DOCKER_HOST names something other than a unix socket."""
    egress_allowlist: list[str] = Field(default_factory=lambda: list(DEFAULT_EGRESS_ALLOWLIST))
    """Hosts a sandbox may reach during its setup phase (JSON list)."""
    egress_without_firewall: bool = False
    """Run a setup phase even when its host firewall (iptables, as root) cannot be put in place; host services
    listening on all interfaces then answer the sandbox. Off: such a setup phase is refused."""
    cache_max_bytes: int = Field(default=DEFAULT_CACHE_MAX_BYTES, gt=0)
    """What the setup phases' download caches (STEWARD_DATA_DIR/caches) may take together; at the start of a
    setup phase the least recently used are removed until they fit (one used in the last hour stays)."""
    max_body_bytes: int = 25 * 1024 * 1024
    """The largest webhook body accepted (GitHub caps payloads at 25 MB)."""
    max_bodies_in_flight_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    """Bytes of webhook bodies the receiver holds at once, across requests; past it a delivery gets 503."""
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    """Seconds a client has to send a request's headers; then 408 and the connection closes."""
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    """Seconds a client has to send a request's whole body once its headers are in; then 408."""
    redeliver_every_minutes: int = Field(default=5, ge=0, le=60)
    """Minutes between passes that ask GitHub to redeliver failed webhook deliveries (at the minutes past the
    hour that are multiples of it); 0 turns the pass off."""
    redeliver_max_per_pass: int = Field(default=10, ge=1, le=100)
    """Most redelivery requests one pass makes; the rest wait for the next pass."""
    redeliver_max_pages: int = Field(default=5, ge=1, le=50)
    """Pages of 100 deliveries one pass reads at most."""
    redeliver_lookback_hours: int = Field(default=24, ge=1, le=72)
    """How far back a pass looks (GitHub keeps deliveries for three days)."""
    digest_pass: bool = True
    """Run the hourly pass (two minutes past each hour) that publishes the weekly review digests repositories
    ask for in `.github/steward.yml` (`digest.enabled`); off: no digest is published."""
    digest_max_repositories: int = Field(default=500, ge=1, le=5000)
    """Repositories one digest pass reads the configuration of at most, over every installation."""
    digest_max_per_pass: int = Field(default=20, ge=1, le=200)
    """Digests one pass publishes at most; the rest follow on the next hour's pass."""
    log_level: str = "INFO"
    """Logging level for all processes."""
    model_provider: Literal["openai", "anthropic"] | None = None
    """The agent engine's model API: `openai` (any Chat Completions endpoint: OpenAI, llama.cpp, vLLM, Ollama)
    or `anthropic`. Unset: no model, and the `agent` engine is refused."""
    model_base_url: str | None = None
    """The provider's base URL (e.g. http://127.0.0.1:8080/v1); unset means the provider's own public API."""
    model_name: str | None = None
    """The model the endpoint serves, as the provider names it."""
    model_api_key: SecretStr | None = None
    """The provider's API key; needed for the providers' own APIs, optional for a local endpoint."""
    model_prices: Annotated[ModelPrices | None, NoDecode] = None
    """JSON `{"input_per_mtok": X, "output_per_mtok": Y}`: what a million tokens cost, for the cost budget."""
    mcp_servers: Annotated[list[McpServer], NoDecode] = Field(default_factory=list)
    """External MCP servers a repository may enable for the agent engine (JSON list of `{"name", "command"
    or "url", "tools"}`); their allowlisted tools are offered as `<server>_<tool>`."""
    metrics: bool = True
    """Serve Prometheus metrics on `steward serve`'s GET /metrics (the worker's: `--metrics-port`)."""
    otlp_endpoint: str | None = None
    """An OTLP/HTTP collector (e.g. http://127.0.0.1:4318) to send traces to; `/v1/traces` is added unless
    the URL already ends with it. Unset: no trace is made or sent."""
    otlp_headers: SecretStr | None = None
    """Headers sent with every trace export (a collector's API key, a tenant), as `name=value,name=value`
    (OTEL_EXPORTER_OTLP_HEADERS's form, values percent-encoded: `authorization=Bearer%20KEY`); or
    STEWARD_OTLP_HEADERS_FILE. Never logged or shown."""
    trace_sample_ratio: float = Field(default=1.0, ge=0, le=1)
    """Of the traces that start at a delivery, the share kept (a job or run follows its delivery's choice)."""

    dashboard_token: SecretStr | None = None
    """The single operator's token for the dashboard (`/dashboard`): its sign-in form takes it, and scripts
    send `Authorization: Bearer <token>`. With the OAuth settings unset too, there is no dashboard."""
    dashboard_oauth_client_id: str | None = None
    """The App's client id, for signing in to the dashboard with GitHub (the App's user authorisation)."""
    dashboard_oauth_client_secret: SecretStr | None = None
    """The App's client secret, for the same sign-in; never shown or logged."""
    dashboard_allowed_orgs: list[str] = Field(default_factory=list)
    """GitHub organisations whose members may sign in with GitHub (JSON list)."""
    dashboard_allowed_teams: list[str] = Field(default_factory=list)
    """Teams, as `org/team-slug`, whose members may sign in with GitHub (JSON list)."""
    dashboard_allowed_users: list[str] = Field(default_factory=list)
    """GitHub logins that may sign in with GitHub (JSON list)."""
    dashboard_recheck_minutes: int = Field(default=15, ge=1, le=24 * 60)
    """How often a GitHub sign-in is checked again against the allowed orgs, teams and users (with the App's
    own credentials): someone removed loses access on their first request after this many minutes."""
    dashboard_session_secret: SecretStr | None = None
    """Signs the dashboard's session cookies; unset, a random one per process (sessions end on restart,
    and replicas do not share them), with a warning at start."""
    dashboard_secure_cookies: Literal["auto", "always", "never"] = "auto"
    """`auto`: the session cookie is `Secure` when the request came over TLS (as `X-Forwarded-Proto` says
    when STEWARD_DASHBOARD_TRUST_PROXY is set); `always` behind a TLS proxy that does not say so."""
    dashboard_trust_proxy: bool = False
    """Believe `X-Forwarded-Proto` and `X-Forwarded-Host` (only behind a reverse proxy that sets them)."""
    github_web_url: str = "https://github.com"
    """GitHub's web address (sign-in, links to issues and branches); for GHES `https://HOST`."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, SecretFiles(settings_cls), env_settings, dotenv_settings, file_secret_settings)

    @field_validator(*MODEL_FIELDS, mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "dashboard_token", "dashboard_oauth_client_id", "dashboard_oauth_client_secret",
        "dashboard_session_secret", "otlp_headers", mode="before",
    )  # fmt: skip
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("otlp_headers")
    @classmethod
    def _otlp_headers(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            otlp_headers(value.get_secret_value())  # refused here, at start, rather than at the first export
        return value

    @field_validator("model_prices", mode="before")
    @classmethod
    def _prices_from_json(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None  # blank, as compose passes a variable left empty in .env: unset
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise ValueError('not JSON; expected {"input_per_mtok": X, "output_per_mtok": Y}') from None
        return value

    @field_validator("mcp_servers", mode="before")
    @classmethod
    def _servers_from_json(cls, value: Any) -> Any:
        return parse_mcp_servers(value)

    @field_validator("model_base_url")
    @classmethod
    def _base_url_is_http(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http:// or https:// URL, e.g. http://127.0.0.1:8080/v1")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not carry credentials; put the key in STEWARD_MODEL_API_KEY")
        return value

    @field_validator("otlp_endpoint", mode="before")
    @classmethod
    def _otlp_endpoint(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str):
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("expected an http:// or https:// URL, e.g. http://127.0.0.1:4318")
            if parts.username is not None or parts.password is not None:
                raise ValueError("must not carry credentials; use STEWARD_OTLP_HEADERS for those")
        return value

    @model_validator(mode="after")
    def _model_complete(self) -> Settings:
        given = [f"STEWARD_{name.upper()}" for name in MODEL_FIELDS if getattr(self, name) is not None]
        if self.model_provider is None:
            if given:
                raise ValueError(
                    f"{', '.join(given)} set but STEWARD_MODEL_PROVIDER is not: "
                    "set it to openai or anthropic, or unset the others"
                )
            return self
        missing = []
        if self.model_name is None:
            missing.append("STEWARD_MODEL_NAME (the model the endpoint serves)")
        if self.model_prices is None:
            missing.append(
                'STEWARD_MODEL_PRICES (JSON {"input_per_mtok": X, "output_per_mtok": Y}; 0 and 0 for a free '
                "local model)"
            )
        if self.model_api_key is None and self.model_provider == "anthropic":
            missing.append("STEWARD_MODEL_API_KEY (Anthropic's API needs one)")
        elif self.model_api_key is None and self.model_base_url is None:
            missing.append(
                "STEWARD_MODEL_API_KEY (OpenAI's API needs one), "
                "or STEWARD_MODEL_BASE_URL for a local endpoint"
            )
        if missing:
            raise ValueError(f"STEWARD_MODEL_PROVIDER={self.model_provider} also needs " + "; ".join(missing))
        return self

    @model_validator(mode="after")
    def _bodies_fit(self) -> Settings:
        if self.max_bodies_in_flight_bytes < self.max_body_bytes:
            raise ValueError(
                "STEWARD_MAX_BODIES_IN_FLIGHT_BYTES must be at least STEWARD_MAX_BODY_BYTES "
                f"({self.max_body_bytes}), or the largest deliveries could never be received"
            )
        return self

    @model_validator(mode="after")
    def _oauth_complete(self) -> Settings:
        pair = (self.dashboard_oauth_client_id, self.dashboard_oauth_client_secret)
        if (pair[0] is None) != (pair[1] is None):
            raise ValueError(
                "set both STEWARD_DASHBOARD_OAUTH_CLIENT_ID and STEWARD_DASHBOARD_OAUTH_CLIENT_SECRET, "
                "or neither"
            )
        allowed = self.dashboard_allowed_orgs or self.dashboard_allowed_teams or self.dashboard_allowed_users
        if pair[0] is not None and not allowed:
            raise ValueError(
                "GitHub sign-in to the dashboard needs STEWARD_DASHBOARD_ALLOWED_ORGS, _TEAMS or _USERS: "
                "without them nobody could sign in"
            )
        if any(team.count("/") != 1 for team in self.dashboard_allowed_teams):
            raise ValueError("STEWARD_DASHBOARD_ALLOWED_TEAMS: each team is `org/team-slug`")
        return self

    @property
    def dashboard_enabled(self) -> bool:
        """Whether `steward serve` serves the dashboard: a token or GitHub sign-in is configured."""
        return self.dashboard_token is not None or self.dashboard_oauth_client_id is not None

    @model_validator(mode="after")
    def _one_private_key(self) -> Settings:
        if self.private_key is not None and self.private_key_path is not None:
            raise ValueError(
                "set one of STEWARD_PRIVATE_KEY, STEWARD_PRIVATE_KEY_FILE and STEWARD_PRIVATE_KEY_PATH, "
                "not two"
            )
        return self

    @property
    def db_url(self) -> str:
        """The ledger's URL, defaulting to an embedded SQLite file."""
        if self.database_url is not None and self.database_url.get_secret_value():
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{self.data_dir / 'steward.db'}"

    @property
    def allowed_images(self) -> list[str]:
        """The sandbox images a run may use: the default one first, then the allowlisted ones."""
        return [self.sandbox_image, *(name for name in self.sandbox_images if name != self.sandbox_image)]

    def private_key_pem(self) -> str:
        """The App's private key text, from either variable."""
        if self.private_key is not None:
            return self.private_key.get_secret_value()
        if self.private_key_path is not None:
            try:
                return self.private_key_path.read_text()
            except OSError as exc:
                raise SettingsError(
                    f"STEWARD_PRIVATE_KEY_PATH: cannot read {self.private_key_path}: {exc.strerror}"
                ) from None
        raise SettingsError("STEWARD_PRIVATE_KEY or STEWARD_PRIVATE_KEY_PATH is not set")

    def require(self, *names: str) -> Settings:
        """Fail with one message naming every variable the caller needs and lacks."""
        missing = []
        for name in names:
            if name == "private_key":
                if self.private_key is None and self.private_key_path is None:
                    missing.append(
                        "STEWARD_PRIVATE_KEY (or STEWARD_PRIVATE_KEY_FILE or STEWARD_PRIVATE_KEY_PATH)"
                    )
            elif getattr(self, name) is None:
                missing.append(f"STEWARD_{name.upper()}")
        if missing:
            raise SettingsError("missing settings: " + ", ".join(missing))
        return self


def load_settings() -> Settings:
    """Validate the environment once; a bad value becomes a message naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            parts = [str(p) for p in err["loc"] if p != "__root__"]
            name = f"STEWARD_{parts[0].upper()}" if parts else "settings"
            where = f" ({'.'.join(parts[1:])})" if len(parts) > 1 else ""
            problems.append(f"{name}{where}: {err['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
    except pydantic_settings.SettingsError as exc:
        # pydantic-settings decodes a JSON list before validation and names only the field it could not parse.
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"STEWARD_{field.group(1).upper()}" if field else "settings"
        raise SettingsError(f"invalid settings: {name}: not valid JSON") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own Settings instead)."""
    return load_settings()
