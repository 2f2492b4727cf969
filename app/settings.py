"""Process settings, read once from STEWARD_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sandbox.images import DEFAULT_IMAGE

DEFAULT_EGRESS_ALLOWLIST = [
    "pypi.org",
    "files.pythonhosted.org",
    "registry.npmjs.org",
    "deb.debian.org",
]
DEFAULT_CACHE_MAX_BYTES = 2 * 1024**3
"""STEWARD_CACHE_MAX_BYTES's default: what all repositories' download caches may take together."""


class SettingsError(Exception):
    """The environment does not configure Steward well enough for the command asked."""


class Settings(BaseSettings):
    """Everything the processes (web, worker, CLI) read from the environment."""

    model_config = SettingsConfigDict(env_prefix="STEWARD_", extra="ignore")

    webhook_secret: SecretStr | None = None
    """The secret GitHub signs webhook deliveries with (the App's webhook secret)."""
    app_id: int | None = None
    """The GitHub App's numeric id."""
    private_key: SecretStr | None = None
    """The App's private key as PEM text; or use STEWARD_PRIVATE_KEY_PATH."""
    private_key_path: Path | None = None
    """A file holding the App's private key (PEM)."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    """Redis for the job queue, delivery de-duplication and locks."""
    database_url: str | None = None
    """SQLAlchemy URL of the run ledger; unset means SQLite under STEWARD_DATA_DIR."""
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
    log_level: str = "INFO"
    """Logging level for all processes."""

    @model_validator(mode="after")
    def _bodies_fit(self) -> Settings:
        if self.max_bodies_in_flight_bytes < self.max_body_bytes:
            raise ValueError(
                "STEWARD_MAX_BODIES_IN_FLIGHT_BYTES must be at least STEWARD_MAX_BODY_BYTES "
                f"({self.max_body_bytes}), or the largest deliveries could never be received"
            )
        return self

    @model_validator(mode="after")
    def _one_private_key(self) -> Settings:
        if self.private_key is not None and self.private_key_path is not None:
            raise ValueError("set STEWARD_PRIVATE_KEY or STEWARD_PRIVATE_KEY_PATH, not both")
        return self

    @property
    def db_url(self) -> str:
        """The ledger's URL, defaulting to an embedded SQLite file."""
        if self.database_url:
            return self.database_url
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
                    missing.append("STEWARD_PRIVATE_KEY (or STEWARD_PRIVATE_KEY_PATH)")
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
            loc = "_".join(str(p) for p in err["loc"] if p != "__root__")
            name = f"STEWARD_{loc.upper()}" if loc else "settings"
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own Settings instead)."""
    return load_settings()
