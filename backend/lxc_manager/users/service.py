"""User accounts (admin): create, update (role, active, profile, password reset), delete.

Invariants: there is always at least one active admin; a disabled user or a reset password ends the
user's sessions at once (their API tokens stop working because the owner must be active).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.audit import service as audit
from lxc_manager.auth.passwords import hash_password_async, validate_password
from lxc_manager.auth.principal import Principal
from lxc_manager.auth.sessions import revoke_user_sessions
from lxc_manager.core.errors import Conflict, NotFound, UnprocessableEntity
from lxc_manager.core.models import utcnow
from lxc_manager.models import Role, User
from lxc_manager.users.repository import UserRepository
from lxc_manager.users.schemas import UserCreate, UserUpdate


async def list_users(
    db: AsyncSession, *, search: str | None, role: Role | None, active: bool | None, limit: int, offset: int
) -> tuple[Sequence[User], int]:
    return await UserRepository(db).list(
        search=search, role=role.value if role else None, active=active, limit=limit, offset=offset
    )


async def get_user(db: AsyncSession, user_id: str) -> User:
    user = await UserRepository(db).get(user_id)
    if user is None:
        raise NotFound("User not found")
    return user


def _audit(
    db: AsyncSession, principal: Principal, action: str, user: User, client_ip: str | None, **details: Any
) -> None:
    audit.record(
        db,
        action,
        actor_id=principal.user.id,
        actor_name=principal.user.username,
        target_type="user",
        target_id=user.id,
        client_ip=client_ip,
        details={"username": user.username, **details},
    )


async def create_user(db: AsyncSession, principal: Principal, data: UserCreate, client_ip: str | None) -> User:
    password_hash = None
    if data.password is not None:
        validate_password(data.password, data.username)
        password_hash = await hash_password_async(data.password)
    repo = UserRepository(db)
    if await repo.username_taken(data.username):
        raise Conflict(f"Username {data.username!r} is taken", code="username_taken")
    user = User(
        username=data.username,
        display_name=data.display_name,
        email=data.email,
        password_hash=password_hash,
        role=data.role.value,
        is_active=data.is_active,
        password_changed_at=utcnow() if password_hash else None,
    )
    repo.add(user)
    try:
        await db.flush()
    except IntegrityError as exc:  # a concurrent create of the same name
        raise Conflict(f"Username {data.username!r} is taken", code="username_taken") from exc
    _audit(db, principal, "user.create", user, client_ip, role=user.role, is_active=user.is_active)
    return user


async def _ensure_other_active_admin(db: AsyncSession, user: User) -> None:
    """409 if ``user`` is the last active admin. Locks the admin rows so two concurrent demotions serialise."""
    if user.role != Role.admin.value or not user.is_active:
        return
    admins = await db.scalars(
        select(User.id).where(User.role == Role.admin.value, User.is_active.is_(True)).with_for_update()
    )
    if [uid for uid in admins.all() if uid != user.id]:
        return
    raise Conflict("This is the last active admin; promote another admin first", code="last_admin")


async def update_user(
    db: AsyncSession, principal: Principal, user_id: str, data: UserUpdate, client_ip: str | None
) -> User:
    fields = data.model_fields_set
    for name in ("role", "is_active", "password"):
        if name in fields and getattr(data, name) is None:
            raise UnprocessableEntity(f"{name} cannot be null", code="validation_error")
    user = await get_user(db, user_id)
    changes: dict[str, Any] = {}
    losing_admin = ("role" in fields and data.role != Role.admin) or ("is_active" in fields and data.is_active is False)
    if losing_admin:
        await _ensure_other_active_admin(db, user)
    if "role" in fields and data.role is not None and data.role.value != user.role:
        changes["role"] = [user.role, data.role.value]
        user.role = data.role.value
    if "is_active" in fields and data.is_active is not None and data.is_active != user.is_active:
        changes["is_active"] = [user.is_active, data.is_active]
        user.is_active = data.is_active
    for name in ("display_name", "email"):
        if name in fields and getattr(data, name) != getattr(user, name):
            changes[name] = "changed"
            setattr(user, name, getattr(data, name))
    if "password" in fields and data.password is not None:
        validate_password(data.password, user.username)
        user.password_hash = await hash_password_async(data.password)
        user.password_changed_at = utcnow()
        changes["password_reset"] = True
    if changes.get("is_active") == [True, False] or "password_reset" in changes:
        # Resetting your own password keeps the session you are using; everything else ends.
        keep = principal.session_id if user.id == principal.user.id and user.is_active else None
        changes["sessions_revoked"] = await revoke_user_sessions(db, user.id, except_session_id=keep)
    if changes:
        await db.flush()
        _audit(db, principal, "user.update", user, client_ip, changes=changes)
    return user


async def delete_user(db: AsyncSession, principal: Principal, user_id: str, client_ip: str | None) -> None:
    if user_id == principal.user.id:
        raise Conflict("You cannot delete your own account", code="cannot_delete_self")
    user = await get_user(db, user_id)
    await _ensure_other_active_admin(db, user)
    _audit(db, principal, "user.delete", user, client_ip, role=user.role)
    await UserRepository(db).delete(user)
    try:
        await db.flush()
    except IntegrityError as exc:
        raise Conflict("The user still owns resources; disable the account instead", code="user_in_use") from exc
