"""The publisher: seq assignment, persistence, publish only after commit, caps and redaction."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from eventfix import insert_deployment, insert_node
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lxc_manager.core.db import create_engine, create_sessionmaker, unit_of_work
from lxc_manager.events.broker import InProcessBroker, LocalSubscription
from lxc_manager.events.publisher import (
    MASK,
    MAX_MESSAGE_BYTES,
    EventSpec,
    bind_broker,
    emit,
    emit_many,
    redacting,
)
from lxc_manager.models import Deployment, DeploymentEvent


@pytest.fixture
async def db(database_url: str) -> Any:
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    broker = InProcessBroker()
    bind_broker(sessionmaker, broker)
    yield sessionmaker, broker
    await broker.close()
    await engine.dispose()


async def _drain(sub: LocalSubscription) -> list[dict[str, Any]]:
    received = []
    while (event := await sub.next_event(0.05)) is not None:
        received.append(event)
    return received


async def _load(session: AsyncSession, deployment_id: str) -> Deployment:
    deployment = await session.get(Deployment, deployment_id)
    assert deployment is not None
    return deployment


async def _rows(sessionmaker: async_sessionmaker[AsyncSession], deployment_id: str) -> list[DeploymentEvent]:
    async with unit_of_work(sessionmaker) as s:
        query = select(DeploymentEvent).where(DeploymentEvent.deployment_id == deployment_id)
        return list((await s.scalars(query.order_by(DeploymentEvent.seq))).all())


async def test_seq_increments_and_publishes_only_after_commit(db: Any) -> None:
    sessionmaker, broker = db
    deployment_id = await insert_deployment(sessionmaker, await insert_node(sessionmaker))
    sub = broker.subscribe(deployment_id, 0)
    async with unit_of_work(sessionmaker) as s:
        deployment = await _load(s, deployment_id)
        first = await emit(s, deployment, "phase", phase="create", status="running", message="creating")
        second = await emit(s, deployment, "log", phase="create", status="stdout", message="line")
        assert (first.seq, second.seq) == (1, 2)
        await asyncio.sleep(0)
        assert await _drain(sub) == []  # not committed yet: nothing is sent
    received = await _drain(sub)
    assert [(e["seq"], e["type"], e["message"]) for e in received] == [(1, "phase", "creating"), (2, "log", "line")]
    assert received[0]["phase"] == "create" and received[0]["status"] == "running" and received[0]["ts"]
    async with unit_of_work(sessionmaker) as s:
        deployment = await _load(s, deployment_id)
        assert deployment.last_event_seq == 2
        third = await emit(s, deployment, "status", status="running")
        assert third.seq == 3
    assert [e["seq"] for e in await _drain(sub)] == [3]
    assert [r.seq for r in await _rows(sessionmaker, deployment_id)] == [1, 2, 3]
    sub.close()
    assert broker.subscriber_count() == 0


async def test_rollback_persists_and_publishes_nothing(db: Any) -> None:
    sessionmaker, broker = db
    deployment_id = await insert_deployment(sessionmaker, None)
    sub = broker.subscribe(deployment_id, 0)
    with pytest.raises(RuntimeError, match="boom"):
        async with unit_of_work(sessionmaker) as s:
            deployment = await _load(s, deployment_id)
            await emit(s, deployment, "log", message="never seen")
            raise RuntimeError("boom")
    assert await _drain(sub) == []
    assert await _rows(sessionmaker, deployment_id) == []
    async with unit_of_work(sessionmaker) as s:
        deployment = await _load(s, deployment_id)
        assert deployment.last_event_seq == 0
        assert (await emit(s, deployment, "log", message="after")).seq == 1  # the seq was not consumed
    assert [e["seq"] for e in await _drain(sub)] == [1]


async def test_emit_many_is_one_batch_in_order(db: Any) -> None:
    sessionmaker, broker = db
    deployment_id = await insert_deployment(sessionmaker, None)
    sub = broker.subscribe(deployment_id, 0)
    async with unit_of_work(sessionmaker) as s:
        deployment = await _load(s, deployment_id)
        rows = await emit_many(
            s, deployment, [EventSpec("log", phase="provision", status="stdout", message=f"l{i}") for i in range(50)]
        )
        assert [r.seq for r in rows] == list(range(1, 51))
        assert await emit_many(s, deployment, []) == []
    assert [e["message"] for e in await _drain(sub)] == [f"l{i}" for i in range(50)]


async def test_unique_seq_refuses_a_second_writer(db: Any) -> None:
    sessionmaker, _ = db
    deployment_id = await insert_deployment(sessionmaker, None)
    with pytest.raises(IntegrityError):
        async with unit_of_work(sessionmaker) as s:
            deployment = await _load(s, deployment_id)
            await emit(s, deployment, "log", message="a")
            deployment.last_event_seq = 0  # what a stale second writer would believe
            await emit(s, deployment, "log", message="b")
    assert await _rows(sessionmaker, deployment_id) == []


async def test_bad_calls_are_refused(db: Any) -> None:
    sessionmaker, _ = db
    deployment_id = await insert_deployment(sessionmaker, None)
    async with unit_of_work(sessionmaker) as s:
        deployment = await _load(s, deployment_id)
        with pytest.raises(ValueError, match="unknown event type"):
            await emit(s, deployment, "progress")
        with pytest.raises(ValueError, match="unknown phase"):
            await emit(s, deployment, "phase", phase="deploy")
    async with unit_of_work(sessionmaker) as s:
        detached = Deployment(id=deployment_id)
        with pytest.raises(RuntimeError, match="must be loaded"):
            await emit(s, detached, "log")


async def test_message_cap_nul_and_undecodable_text(db: Any) -> None:
    sessionmaker, broker = db
    deployment_id = await insert_deployment(sessionmaker, None)
    sub = broker.subscribe(deployment_id, 0)
    huge = "é" * (MAX_MESSAGE_BYTES * 2)
    async with unit_of_work(sessionmaker) as s:
        deployment = await _load(s, deployment_id)
        await emit(s, deployment, "log", message=huge)
        await emit(s, deployment, "log", message="a\x00b \udcff c", data={"when": deployment.created_at})
        await emit(s, deployment, "log", message="big data", data={"blob": "x" * 100_000})
    cut, odd, big = await _drain(sub)
    assert len(cut["message"].encode()) < MAX_MESSAGE_BYTES + 64
    assert "truncated" in cut["message"] and cut["data"] == {"message_truncated": True}
    assert odd["message"] == "ab \ufffd c" and isinstance(odd["data"]["when"], str)
    assert big["data"] == {"data_truncated": True}
    stored = await _rows(sessionmaker, deployment_id)
    assert stored[0].message == cut["message"] and stored[1].message == odd["message"]


async def test_secrets_are_masked(db: Any) -> None:
    sessionmaker, broker = db
    deployment_id = await insert_deployment(sessionmaker, None)
    sub = broker.subscribe(deployment_id, 0)
    secret = "s3cr3t-Passw0rd"
    with redacting([secret, "ab", None]):
        async with unit_of_work(sessionmaker) as s:
            deployment = await _load(s, deployment_id)
            await emit(s, deployment, "log", message=f"echo {secret} > /etc/x; ab", data={"cmd": [f"--pw={secret}"]})
            await emit(s, deployment, "result", status="succeeded", data={"root_password": "hunter22", "vmid": 101})
    async with unit_of_work(sessionmaker) as s:
        deployment = await _load(s, deployment_id)
        await emit(s, deployment, "log", message=f"outside {secret}")  # the block has ended
    line, result, outside = await _drain(sub)
    assert line["message"] == f"echo {MASK} > /etc/x; ab"  # too-short values are not masked in free text
    assert line["data"] == {"cmd": [f"--pw={MASK}"]}
    assert result["data"] == {"root_password": MASK, "vmid": 101}
    assert secret in outside["message"]
    stored = await _rows(sessionmaker, deployment_id)
    assert secret not in stored[0].message and "hunter22" not in str(stored[1].data)


async def test_without_a_bound_broker_events_are_only_persisted(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        sessionmaker = create_sessionmaker(engine)
        deployment_id = await insert_deployment(sessionmaker, None)
        async with unit_of_work(sessionmaker) as s:
            deployment = await _load(s, deployment_id)
            await emit(s, deployment, "log", message="kept")
        assert [r.message for r in await _rows(sessionmaker, deployment_id)] == ["kept"]
    finally:
        await engine.dispose()
