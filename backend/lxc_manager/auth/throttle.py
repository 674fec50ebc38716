"""Login throttling that slows guessing without letting an attacker lock the real user out.

Failures are counted per (username, client address) and per client address. Past the threshold each
further failure blocks that key for a delay that doubles, capped at ``login_max_delay_s``; while a key is
blocked, attempts answer 429 with ``Retry-After`` without checking the password. Because every key
contains the client address, someone hammering an account from one address slows only themselves:
the account owner logging in from elsewhere is unaffected. Nothing is ever locked permanently.

Counters live in the database (shared by all replicas) and are written in their own transactions,
since the failed login's own transaction rolls back.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lxc_manager.auth.repository import ThrottleRepository
from lxc_manager.core.config import Settings
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.errors import TooManyRequests
from lxc_manager.core.models import utcnow
from lxc_manager.models import LoginThrottle

# A shared address (NAT, proxy) carries many users: allow it this many times the per-account budget.
ADDRESS_BUDGET_FACTOR = 10
FIRST_DELAY_S = 1.0


def client_network(client_ip: str | None) -> str:
    """The unit an attacker cannot cheaply multiply: the address itself for IPv4, its /64 for IPv6
    (one subscriber usually gets a whole /64)."""
    if not client_ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _user_key(username: str, client_ip: str | None) -> str:
    return f"user:{username.strip().casefold()[:256]}|ip:{client_network(client_ip)}"


def _address_key(client_ip: str | None) -> str:
    return f"ip:{client_network(client_ip)}"


def _threshold(key: str, settings: Settings) -> int:
    base = max(1, settings.login_max_failures)
    return base if key.startswith("user:") else base * ADDRESS_BUDGET_FACTOR


async def ensure_not_blocked(
    sessionmaker: async_sessionmaker[AsyncSession], username: str, client_ip: str | None
) -> None:
    """Raise 429 (with Retry-After) while this account+address or this address is blocked."""
    now = utcnow()
    async with unit_of_work(sessionmaker) as db:
        rows = await ThrottleRepository(db).get_many([_user_key(username, client_ip), _address_key(client_ip)])
    waits = [(row.blocked_until - now).total_seconds() for row in rows if row.blocked_until and row.blocked_until > now]
    if waits:
        retry_after = max(1, math.ceil(max(waits)))
        raise TooManyRequests(
            "Too many failed logins; try again later",
            code="login_throttled",
            headers={"Retry-After": str(retry_after)},
        )


async def record_failure(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, username: str, client_ip: str | None
) -> None:
    for key in (_user_key(username, client_ip), _address_key(client_ip)):
        for attempt in range(3):
            try:
                async with unit_of_work(sessionmaker) as db:
                    await _bump(db, settings, key)
                break
            except IntegrityError:
                # Another request inserted the same key first; count on top of its row.
                if attempt == 2:
                    raise


async def _bump(db: AsyncSession, settings: Settings, key: str) -> None:
    now = utcnow()
    repo = ThrottleRepository(db)
    row = await repo.get(key, for_update=True)
    if row is None:
        row = LoginThrottle(key=key, failures=0, window_started_at=now, blocked_until=None)
        repo.add(row)
    else:
        window_over = row.window_started_at + timedelta(seconds=settings.login_window_s) <= now
        blocked = row.blocked_until is not None and row.blocked_until > now
        if window_over and not blocked:
            row.failures, row.window_started_at, row.blocked_until = 0, now, None
    row.failures += 1
    threshold = _threshold(key, settings)
    if row.failures >= threshold:
        doublings = min(row.failures - threshold, 30)
        delay = min(FIRST_DELAY_S * 2**doublings, settings.login_max_delay_s)
        row.blocked_until = now + timedelta(seconds=delay)
    await db.flush()


async def record_success(db: AsyncSession, settings: Settings, username: str, client_ip: str | None) -> None:
    """A correct password clears this account+address counter (the address counter just ages out).

    Also drops counters idle for two windows, so sprayed usernames do not pile up in the table.
    """
    repo = ThrottleRepository(db)
    await repo.delete(_user_key(username, client_ip))
    now = utcnow()
    await repo.purge_stale(now - timedelta(seconds=2 * settings.login_window_s), now)
