"""API shapes for single sign-on."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class OIDCProviderInfo(BaseModel):
    enabled: bool
    display_name: str = Field(description="Label for the SPA's sign-in button")
    login_url: str | None = Field(description="Where the browser goes to start SSO (append ?next=/path)")


class AuthProviders(BaseModel):
    password: bool = Field(description="Local username/password login is available")
    oidc: OIDCProviderInfo


class OIDCLinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=255, description="The IdP's 'sub' claim for this person")
    issuer: str | None = Field(
        default=None, min_length=1, max_length=500, description="Defaults to the configured LXCM_OIDC_ISSUER"
    )


class OIDCLinkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    user_id: str
    issuer: str
    subject: str
    email: str | None
    created_at: datetime
    last_login_at: datetime | None
