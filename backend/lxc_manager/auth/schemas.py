"""API shapes for login, the current caller and password changes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from lxc_manager.auth.principal import Scope
from lxc_manager.models import Role
from lxc_manager.users.schemas import UserOut


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Loose limits on purpose: a name that cannot exist just fails like any wrong login.
    # No control characters: they cannot be in a username, and PostgreSQL refuses NUL in text.
    username: Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class LoginResponse(BaseModel):
    user: UserOut
    csrf_token: str = Field(description="Send as the X-CSRF-Token header on every cookie-authenticated write")


class MeResponse(BaseModel):
    user: UserOut
    role: Role
    scopes: list[Scope]
    via: Literal["session", "token"]


class CSRFResponse(BaseModel):
    csrf_token: str


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: Annotated[str, Field(min_length=1, max_length=1024)]
    new_password: Annotated[str, Field(min_length=1, max_length=1024, description="10 to 256 characters")]
