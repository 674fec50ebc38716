"""``lxc-manager create-admin``: create the first admin, or reset an account's password and make it admin."""

from __future__ import annotations

import sys

from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from lxc_manager.audit import service as audit
from lxc_manager.auth.passwords import hash_password_async, password_policy_problem
from lxc_manager.auth.sessions import revoke_user_sessions
from lxc_manager.core.config import Settings
from lxc_manager.core.db import create_engine, create_sessionmaker, unit_of_work
from lxc_manager.core.logging import get_logger
from lxc_manager.core.models import utcnow
from lxc_manager.models import Role, User
from lxc_manager.users.repository import UserRepository
from lxc_manager.users.schemas import USERNAME_RE

log = get_logger(__name__)

EXIT_OK = 0
EXIT_NOT_READY = 1
EXIT_BAD_INPUT = 2


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"error: {message}\n")
    return code


async def create_admin(settings: Settings, username: str, password: str) -> int:
    """Create ``username`` as an active admin, or reset its password and promote it. Returns an exit code.

    The password is never logged or echoed.
    """
    if not USERNAME_RE.match(username):
        return _fail("invalid username: use letters, digits and . _ @ - (at most 64 characters)", EXIT_BAD_INPUT)
    problem = password_policy_problem(password, username)
    if problem:
        return _fail(problem, EXIT_BAD_INPUT)

    engine = create_engine(settings.effective_database_url)
    try:
        try:
            async with engine.connect() as conn:
                migrated = await conn.run_sync(lambda sync: inspect(sync).has_table("users"))
        except (SQLAlchemyError, OSError) as exc:
            return _fail(f"cannot open the database ({type(exc).__name__}); check LXCM_DATABASE_URL", EXIT_NOT_READY)
        if not migrated:
            return _fail("the database has no tables; run `lxc-manager migrate` first", EXIT_NOT_READY)

        password_hash = await hash_password_async(password)
        async with unit_of_work(create_sessionmaker(engine)) as db:
            repo = UserRepository(db)
            user = await repo.get_by_username(username)
            created = user is None
            if user is None:
                user = User(username=username, role=Role.admin.value, is_active=True)
                repo.add(user)
            previous = {"role": user.role, "is_active": user.is_active}
            user.password_hash = password_hash
            user.password_changed_at = utcnow()
            user.role = Role.admin.value
            user.is_active = True
            await db.flush()
            revoked = 0 if created else await revoke_user_sessions(db, user.id)
            audit.record(
                db,
                "user.create" if created else "user.update",
                actor_name="cli:create-admin",
                target_type="user",
                target_id=user.id,
                details={"username": username, "role": user.role}
                if created
                else {
                    "username": username,
                    "changes": {"password_reset": True, "before": previous},
                    "sessions_revoked": revoked,
                },
            )
    finally:
        await engine.dispose()
    verb = "created" if created else "updated (password reset, role admin, active)"
    sys.stderr.write(f"admin {username!r} {verb}\n")
    log.info("create_admin", username=username, created=created)
    return EXIT_OK
