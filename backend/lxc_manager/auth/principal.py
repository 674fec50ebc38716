"""Who is calling: a user, authenticated by a session cookie or an API token, with effective scopes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from lxc_manager.models import Role, User


class Scope(StrEnum):
    read = "read"  # every GET
    write = "write"  # deploy, lifecycle, templates, buckets (operator and admin)
    admin = "admin"  # users, nodes, tokens of others, audit (admin only)


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.viewer: frozenset({Scope.read}),
    Role.operator: frozenset({Scope.read, Scope.write}),
    Role.admin: frozenset({Scope.read, Scope.write, Scope.admin}),
}


def scopes_for_role(role: str) -> frozenset[Scope] | None:
    """The role's scopes, or None for a value that is not a role (such a user cannot act at all)."""
    try:
        return ROLE_SCOPES[Role(role)]
    except ValueError:
        return None


@dataclass(frozen=True)
class Principal:
    user: User
    via: Literal["session", "token"]
    # Effective scopes: the role's scopes, intersected with the token's scopes for token calls.
    scopes: frozenset[Scope]
    session_id: str | None = None
    token_id: str | None = None

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    def has(self, scope: Scope) -> bool:
        return scope in self.scopes
