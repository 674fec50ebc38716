"""Login throttling: the attacker is slowed, the real user is not locked out, nothing is permanent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from helpers import DEFAULT_PASSWORD, create_user, new_client
from lxc_manager.auth import throttle
from lxc_manager.core.config import Settings
from lxc_manager.core.db import unit_of_work
from lxc_manager.core.models import utcnow
from lxc_manager.main import create_app
from lxc_manager.models import AuditEvent, LoginThrottle

LOGIN = "/api/v1/auth/login"


class Clock:
    """The throttle's notion of now, frozen so that no test outcome depends on how fast requests run."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = Clock()
    monkeypatch.setattr(throttle, "utcnow", frozen)
    return frozen


@pytest.fixture
async def slow_app(settings: Settings, clock: Clock) -> AsyncIterator[FastAPI]:
    """The app with production-like delays (the shared fixture shortens them to 50 ms)."""
    application = create_app(settings.model_copy(update={"login_max_delay_s": 30.0}))
    async with application.router.lifespan_context(application):
        yield application


async def test_hammering_one_account_is_throttled_while_victim_logs_in(slow_app: FastAPI) -> None:
    await create_user(slow_app, "victim")
    statuses: list[int] = []
    async with new_client(slow_app, "203.0.113.9") as attacker:
        for attempt in range(100):
            response = await attacker.post(LOGIN, json={"username": "victim", "password": f"guess-{attempt:04d}xx"})
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert int(response.headers["retry-after"]) >= 1
                assert response.json()["error"] == "login_throttled"
        # Even the right password is refused while this address is blocked for this account.
        blocked = await attacker.post(LOGIN, json={"username": "victim", "password": DEFAULT_PASSWORD})
        assert blocked.status_code == 429
    assert statuses[:5] == [401] * 5
    assert statuses[5:] == [429] * 95
    async with new_client(slow_app, "198.51.100.7") as victim:
        response = await victim.post(LOGIN, json={"username": "victim", "password": DEFAULT_PASSWORD})
        assert response.status_code == 200
    async with unit_of_work(slow_app.state.lxcm.sessionmaker) as db:
        failures = (await db.scalars(select(AuditEvent).where(AuditEvent.outcome == "failure"))).all()
    assert len(failures) == 5  # throttled attempts never reached the password check


async def test_delay_grows_but_is_capped_and_expires(slow_app: FastAPI, clock: Clock) -> None:
    await create_user(slow_app, "victim")
    async with new_client(slow_app, "203.0.113.9") as attacker:
        retry_afters = []
        for attempt in range(12):
            response = await attacker.post(LOGIN, json={"username": "victim", "password": f"guess-{attempt:04d}xx"})
            if response.status_code == 429:
                retry_afters.append(int(response.headers["retry-after"]))
                clock.advance(retry_afters[-1])  # let the block lapse, without sleeping
        assert retry_afters == sorted(retry_afters)
        assert retry_afters[-1] <= 30
        assert retry_afters[-1] > retry_afters[0]
        # Never permanent: once the block lapses the right password works from the same address.
        response = await attacker.post(LOGIN, json={"username": "victim", "password": DEFAULT_PASSWORD})
        assert response.status_code == 200


async def test_password_spraying_from_one_address_is_throttled(slow_app: FastAPI) -> None:
    await create_user(slow_app, "someone")
    async with new_client(slow_app, "203.0.113.50") as sprayer:
        statuses = []
        for index in range(51):
            response = await sprayer.post(LOGIN, json={"username": f"user{index}", "password": "Winter2026!!"})
            statuses.append(response.status_code)
        assert statuses[:50] == [401] * 50
        assert statuses[50] == 429
    async with new_client(slow_app, "192.0.2.1") as elsewhere:
        response = await elsewhere.post(LOGIN, json={"username": "someone", "password": DEFAULT_PASSWORD})
        assert response.status_code == 200


async def test_stale_counters_are_purged(slow_app: FastAPI, clock: Clock) -> None:
    await create_user(slow_app, "someone")
    async with new_client(slow_app, "203.0.113.50") as sprayer:
        for index in range(3):
            await sprayer.post(LOGIN, json={"username": f"user{index}", "password": "Winter2026!!"})
    async with unit_of_work(slow_app.state.lxcm.sessionmaker) as db:
        assert len((await db.scalars(select(LoginThrottle))).all()) == 4  # 3 account+address keys, 1 address key
    clock.advance(2 * 300 + 1)
    async with new_client(slow_app, "192.0.2.1") as elsewhere:
        response = await elsewhere.post(LOGIN, json={"username": "someone", "password": DEFAULT_PASSWORD})
        assert response.status_code == 200
    async with unit_of_work(slow_app.state.lxcm.sessionmaker) as db:
        assert (await db.scalars(select(LoginThrottle))).all() == []


def test_ipv6_clients_are_counted_per_64() -> None:
    assert throttle.client_network("2001:db8:1:2:aaaa::1") == throttle.client_network("2001:db8:1:2:bbbb::9")
    assert throttle.client_network("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert throttle.client_network("2001:db8:1:3::1") != throttle.client_network("2001:db8:1:2::1")
    assert throttle.client_network("::ffff:203.0.113.9") == "203.0.113.9"
    assert throttle.client_network("203.0.113.9") == "203.0.113.9"
    assert throttle.client_network(None) == "unknown"
    assert throttle.client_network("testclient") == "testclient"


async def test_rotating_ipv6_addresses_in_one_prefix_are_throttled(slow_app: FastAPI) -> None:
    await create_user(slow_app, "victim")
    statuses = []
    for index in range(8):
        async with new_client(slow_app, f"2001:db8:1:2::{index + 1:x}") as attacker:
            response = await attacker.post(LOGIN, json={"username": "victim", "password": f"guess-{index:04d}xx"})
            statuses.append(response.status_code)
    assert statuses[:5] == [401] * 5
    assert statuses[5:] == [429] * 3
