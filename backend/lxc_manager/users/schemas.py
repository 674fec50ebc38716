"""API shapes for user accounts. Password hashes never leave the server."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lxc_manager.models import Role, User

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")

Username = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=USERNAME_RE.pattern,
        description="Letters, digits and . _ @ - (starts with a letter or digit)",
        examples=["alice"],
    ),
]
Password = Annotated[str, Field(min_length=1, max_length=1024, description="10 to 256 characters; not the username")]


def _clean_optional_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if any(ord(ch) < 32 for ch in value):
        raise ValueError("must not contain control characters")
    return value or None


class UserOut(BaseModel):
    id: str
    username: str
    display_name: str | None
    email: str | None
    role: Role
    is_active: bool
    has_password: bool = Field(description="False for SSO-only accounts")
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None
    password_changed_at: datetime | None

    @classmethod
    def from_row(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            role=Role(user.role),
            is_active=user.is_active,
            has_password=user.password_hash is not None,
            created_at=user.created_at,
            updated_at=user.updated_at,
            last_login_at=user.last_login_at,
            password_changed_at=user.password_changed_at,
        )


class _ProfileFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: Annotated[str | None, Field(max_length=200)] = None
    email: Annotated[str | None, Field(max_length=320, examples=["alice@example.com"])] = None

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, value: str | None) -> str | None:
        return _clean_optional_text(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        value = _clean_optional_text(value)
        if value is not None and not EMAIL_RE.match(value):
            raise ValueError("not an e-mail address")
        return value


class UserCreate(_ProfileFields):
    username: Username
    password: Password | None = Field(default=None, description="Omit for an SSO-only account")
    role: Role = Role.viewer
    is_active: bool = True


class UserUpdate(_ProfileFields):
    """Only the fields present are changed; ``null`` clears display_name/email."""

    role: Role | None = None
    is_active: bool | None = None
    password: Password | None = Field(default=None, description="Reset the password (revokes the user's sessions)")


class UserPage(BaseModel):
    items: list[UserOut]
    total: int
    limit: int
    offset: int
