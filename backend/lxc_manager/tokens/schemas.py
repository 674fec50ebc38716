"""API shapes for API tokens. The plaintext token appears only in ``TokenCreated``, once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lxc_manager.auth.principal import Scope
from lxc_manager.models import APIToken
from lxc_manager.tokens.format import display_prefix

MAX_TOKEN_DAYS = 3650


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100, description="What the token is for")]
    scopes: Annotated[
        list[Scope],
        Field(min_length=1, max_length=3, description="Subset of your own scopes: read, write, admin"),
    ]
    expires_at: datetime | None = Field(default=None, description="Expiry (UTC if no offset); must be in the future")
    expires_in_days: int | None = Field(default=None, ge=1, le=MAX_TOKEN_DAYS, description="Alternative to expires_at")

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name must not be blank")
        if any(ord(ch) < 32 for ch in value):
            raise ValueError("name must not contain control characters")
        return value

    @field_validator("scopes")
    @classmethod
    def _unique_scopes(cls, value: list[Scope]) -> list[Scope]:
        return sorted(set(value), key=list(Scope).index)

    @model_validator(mode="after")
    def _one_expiry(self) -> TokenCreate:
        if self.expires_at is not None and self.expires_in_days is not None:
            raise ValueError("give expires_at or expires_in_days, not both")
        return self


class TokenOut(BaseModel):
    id: str
    name: str
    user_id: str
    prefix: str = Field(description="Identifies the token in lists (not secret)", examples=["lxcm_AbCdEf123456"])
    scopes: list[Scope]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: APIToken) -> TokenOut:
        return cls(
            id=row.id,
            name=row.name,
            user_id=row.user_id,
            prefix=display_prefix(row.lookup),
            scopes=[Scope(s) for s in row.scopes.split()],
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself. Shown only now: store it, it cannot be retrieved again.")


class TokenPage(BaseModel):
    items: list[TokenOut]
    total: int
    limit: int
    offset: int
