"""Password hashing (argon2id) and the local password policy.

Parameters follow the OWASP Password Storage Cheat Sheet's argon2id baseline (m=19 MiB, t=2, p=1).
Hashes made with older/weaker parameters are upgraded at the next successful login
(``needs_rehash``).
"""

from __future__ import annotations

from functools import cache

import anyio
import anyio.to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from lxc_manager.core.errors import UnprocessableEntity

ARGON2_TIME_COST = 2
ARGON2_MEMORY_COST_KIB = 19 * 1024
ARGON2_PARALLELISM = 1

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 256

_hasher = PasswordHasher(
    time_cost=ARGON2_TIME_COST,
    memory_cost=ARGON2_MEMORY_COST_KIB,
    parallelism=ARGON2_PARALLELISM,
    hash_len=32,
    salt_len=16,
    type=Type.ID,
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; False for a mismatch or an unreadable hash (never raises)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


@cache
def _dummy_hash() -> str:
    return _hasher.hash("dummy password that never matches anything")


def burn_verification(password: str) -> None:
    """Spend the same work as a real verification, for unknown users (no enumeration by timing)."""
    verify_password(_dummy_hash(), password)


def password_policy_problem(password: str, username: str | None) -> str | None:
    """Why ``password`` is refused, or None when acceptable."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"Password must be at least {PASSWORD_MIN_LENGTH} characters"
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"Password must be at most {PASSWORD_MAX_LENGTH} characters"
    if username and password.strip().casefold() == username.strip().casefold():
        return "Password must not be the username"
    return None


def validate_password(password: str, username: str | None) -> None:
    """Raise 422 ``weak_password`` when the policy refuses ``password``."""
    problem = password_policy_problem(password, username)
    if problem:
        raise UnprocessableEntity(problem, code="weak_password")


# argon2 is CPU-bound (tens of ms): run it off the event loop so one login does not stall every request.
async def hash_password_async(password: str) -> str:
    return await anyio.to_thread.run_sync(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    """Verify against ``password_hash``; with None (unknown user, SSO-only account) burn the same work."""
    if password_hash is None:
        await anyio.to_thread.run_sync(burn_verification, password)
        return False
    return await anyio.to_thread.run_sync(verify_password, password_hash, password)
