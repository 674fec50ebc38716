"""Application settings, read from the environment with the ``LXCM_`` prefix."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[3]

# Values that ship in examples and docs; refused outside development.
PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "changethis", "secret", "placeholder", ""})


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    """Every knob of the service. Proxmox credentials never come from here: they live in the DB."""

    model_config = SettingsConfigDict(env_prefix="LXCM_", env_file=None, extra="ignore")

    environment: Environment = Environment.development
    data_dir: Path = Field(default=REPO_ROOT / "data")
    database_url: str | None = None
    redis_url: str | None = None
    templates_dir: Path = Field(default=REPO_ROOT / "infra" / "lxc" / "templates")

    # Secrets-at-rest key: base64 32 bytes. Unset: a key file is created in data_dir (mode 0600).
    secret_key: SecretStr | None = None
    secret_key_file: Path | None = None

    # Sessions
    session_cookie_name: str = "lxcm_session"
    session_idle_timeout_s: int = 60 * 60 * 2
    session_absolute_timeout_s: int = 60 * 60 * 12
    # "auto": Secure when the request arrived over https (directly or via X-Forwarded-Proto).
    cookie_secure: bool | None = None
    trusted_origins: list[str] = Field(default_factory=list)

    # Login throttling (per username+client and per client)
    login_max_failures: int = 5
    login_window_s: int = 300
    login_max_delay_s: float = 30.0

    # OpenID Connect
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid email profile"
    oidc_auto_provision: bool = False
    oidc_default_role: str = "viewer"
    oidc_display_name: str = "Single sign-on"
    public_url: str | None = None

    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment == Environment.development:
            return self
        for name in ("secret_key", "oidc_client_secret"):
            value = getattr(self, name)
            if value is not None and value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(f"LXCM_{name.upper()} is a placeholder; set a real secret outside development")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'lxc-manager.db'}"

    @property
    def effective_secret_key_file(self) -> Path:
        return self.secret_key_file or (self.data_dir / "secret.key")

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)


@lru_cache
def get_settings() -> Settings:
    return Settings()
