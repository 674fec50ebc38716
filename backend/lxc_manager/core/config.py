"""Application settings, read from the environment with the ``LXCM_`` prefix."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
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

    model_config = SettingsConfigDict(env_prefix="LXCM_", env_file=None, extra="ignore", hide_input_in_errors=True)

    environment: Environment = Environment.development
    data_dir: Path = Field(default=REPO_ROOT / "data")
    database_url: str | None = None
    redis_url: str | None = None
    templates_dir: Path = Field(default=REPO_ROOT / "infra" / "lxc" / "templates")
    # Package buckets; unset: ``templates_dir/../buckets``.
    buckets_dir: Path | None = None
    # Never write templates/buckets back to disk (e.g. a read-only checkout); edits then answer 409.
    templates_read_only: bool = False
    # Discover templates when the app starts (a broken template is logged, never fatal).
    templates_sync_on_startup: bool = True
    # The built SPA (``make frontend-build``); served at ``/`` when it holds an index.html.
    frontend_dir: Path = Field(default=REPO_ROOT / "frontend" / "dist")

    # Secrets-at-rest key: base64 32 bytes. Unset: a key file is created in data_dir (mode 0600).
    secret_key: SecretStr | None = None
    secret_key_file: Path | None = None
    # Older env keys (comma separated base64) that still decrypt during a rotation (docs/security.md).
    secret_key_old: SecretStr | None = None

    # Proxmox node registration (SSRF guard): loopback API URLs are refused in production unless allowed;
    # in production only these ports are accepted (None: 443 and 8006).
    node_allow_loopback: bool = False
    node_api_ports: list[int] | None = None

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
    # Role of auto-provisioned SSO accounts; a typo fails at start-up, not at the first SSO login.
    oidc_default_role: Literal["admin", "operator", "viewer"] = "viewer"
    oidc_display_name: str = "Single sign-on"
    public_url: str | None = None

    # Deployment event streams (SSE): keep-alive comment interval, how often an open stream re-checks the
    # caller's access (and polls the DB as a safety net), DB polling while the broker is unavailable, and how
    # long one send may block before a stuck client is dropped.
    events_ping_s: float = Field(default=15.0, gt=0)
    events_recheck_s: float = Field(default=15.0, gt=0)
    events_poll_s: float = Field(default=1.0, gt=0)
    events_send_timeout_s: float = Field(default=30.0, gt=0)

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

    @field_validator("secret_key", "secret_key_old")
    @classmethod
    def _validate_secret_keys(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        # Keys must be base64 of 32 bytes (AES-256). A field validator: its errors show the value masked.
        from lxc_manager.core.crypto import CryptoError, decode_key

        if value is None or not value.get_secret_value().strip():
            return value
        env = info.data.get("environment")
        is_placeholder = value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS
        if is_placeholder:
            # Outside development _refuse_placeholders reports it; in development it is ignored (key file used).
            return value
        source = f"LXCM_{(info.field_name or '').upper()}"
        try:
            for part in value.get_secret_value().split(","):
                if part.strip():
                    decode_key(part, source=source, strict=env == Environment.production)
        except CryptoError as exc:
            raise ValueError(str(exc)) from None
        return value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'lxc-manager.db'}"

    @property
    def effective_buckets_dir(self) -> Path:
        return self.buckets_dir or (self.templates_dir.parent / "buckets")

    @property
    def effective_secret_key_file(self) -> Path:
        return self.secret_key_file or (self.data_dir / "secret.key")

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)


@lru_cache
def get_settings() -> Settings:
    return Settings()
