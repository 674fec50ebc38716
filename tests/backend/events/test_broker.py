"""The brokers on their own: ordering, bounded buffers (a slow subscriber is dropped, not waited for),
thread-safe publishing, Redis Streams ids/trim/expiry, reader clean-up and Redis outages."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from lxc_manager.events.broker import InProcessBroker, RedisStreamBroker, SubscriptionLost, stream_key


def _ev(seq: int, type: str = "log") -> dict[str, Any]:
    return {"seq": seq, "type": type, "phase": None, "status": None, "message": f"m{seq}", "ts": "t", "data": {}}


async def _take(sub: Any, n: int) -> list[int]:
    out = []
    for _ in range(n):
        event = await sub.next_event(5)
        assert event is not None, f"only {out} arrived"
        out.append(event["seq"])
    return out


async def test_in_process_fan_out_and_slow_subscriber_dropped() -> None:
    broker = InProcessBroker(buffer_size=8)
    fast, slow, other = broker.subscribe("d1", 0), broker.subscribe("d1", 0), broker.subscribe("d2", 0)
    assert broker.subscriber_count() == 3 and broker.subscriber_count("d1") == 2
    for seq in range(1, 6):
        await broker.publish("d1", _ev(seq))
    assert await _take(fast, 5) == [1, 2, 3, 4, 5]
    await broker.publish_many("d1", [_ev(s) for s in range(6, 10)])  # slow now holds 9 > 8: dropped
    assert await _take(fast, 4) == [6, 7, 8, 9]
    with pytest.raises(SubscriptionLost) as lost:
        await slow.next_event(1)
    assert lost.value.reason == "lagged"
    assert broker.subscriber_count("d1") == 1  # the fast one is unaffected
    assert await other.next_event(0.05) is None  # other deployments see nothing
    fast.close()
    other.close()
    assert broker.subscriber_count() == 0
    await broker.close()


async def test_in_process_publish_from_another_thread_and_iteration() -> None:
    broker = InProcessBroker()
    sub = broker.subscribe("d", 0)

    def publish_elsewhere() -> None:
        asyncio.run(broker.publish_many("d", [_ev(1), _ev(2), _ev(3, "result")]))

    thread = threading.Thread(target=publish_elsewhere)
    thread.start()
    received = []
    async for event in sub:
        received.append(event["seq"])
        if event["type"] == "result":
            break
    thread.join()
    assert received == [1, 2, 3]
    await broker.close()
    with pytest.raises(SubscriptionLost):
        await sub.next_event(0.1)


async def _deadline_scenario() -> None:
    broker = InProcessBroker()
    sub = broker.subscribe("d", 0)
    loop = asyncio.get_running_loop()
    for _ in range(20):  # short waits, like a stream's re-check wake-ups: each ends (no lost timer)
        assert await asyncio.wait_for(sub.next_event(0.01), 5) is None
    deadline = loop.time() + 0.3  # a fixed deadline, interrupted by events, still ends there
    loop.call_later(0.05, lambda: loop.create_task(broker.publish("d", _ev(1))))
    first = await asyncio.wait_for(sub.next_event(deadline - loop.time()), 5)
    assert first is not None and first["seq"] == 1
    assert await asyncio.wait_for(sub.next_event(max(deadline - loop.time(), 0.0)), 5) is None
    assert await asyncio.wait_for(sub.next_event(0), 5) is None  # a deadline already due
    sub.close()
    await broker.close()


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_waits_end_at_their_deadline_on_both_event_loops(loop_kind: str) -> None:
    # uvicorn runs on uvloop, whose timers have millisecond resolution and may fire a hair early.
    if loop_kind == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_deadline_scenario())
    finally:
        loop.close()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def test_redis_streams_order_ids_duplicates_and_expiry(redis_url: str, redis_client: aioredis.Redis) -> None:
    deployment_id = str(uuid.uuid4())
    publisher = RedisStreamBroker(redis_url, ttl_after_end_s=60, idle_ttl_s=3600)
    reader = RedisStreamBroker(redis_url, block_ms=200)  # another process (an API replica)
    try:
        await publisher.publish_many(deployment_id, [_ev(1), _ev(2)])
        sub = reader.subscribe(deployment_id, 0)  # the stream still holds 1 and 2: replayed
        assert await _take(sub, 2) == [1, 2]
        await publisher.publish(deployment_id, _ev(2))  # a repeat is refused by Redis, not duplicated
        await publisher.publish_many(deployment_id, [_ev(3), _ev(4, "result")])
        assert await _take(sub, 2) == [3, 4]
        key = stream_key(deployment_id)
        assert await redis_client.xlen(key) == 4
        assert [entry_id for entry_id, _ in await redis_client.xrange(key)] == ["1-0", "2-0", "3-0", "4-0"]
        assert 0 < await redis_client.ttl(key) <= 60  # expires some time after the terminal event
        late = reader.subscribe(deployment_id, 2)  # joins the running reader; later events reach both
        await publisher.publish(deployment_id, _ev(5))
        assert await _take(sub, 1) == [5]
        assert (await _take(late, 1))[-1] == 5
        sub.close()
        late.close()
        assert reader.subscriber_count() == 0
        for _ in range(100):  # the reader notices within one XREAD block and stops
            if reader.reader_count() == 0:
                break
            await asyncio.sleep(0.05)
        assert reader.reader_count() == 0
    finally:
        await publisher.close()
        await reader.close()
        await redis_client.delete(stream_key(deployment_id))


async def test_redis_trims_with_maxlen(redis_url: str, redis_client: aioredis.Redis) -> None:
    deployment_id = str(uuid.uuid4())
    broker = RedisStreamBroker(redis_url, maxlen=100)
    try:
        for start in range(1, 1001, 100):
            await broker.publish_many(deployment_id, [_ev(s) for s in range(start, start + 100)])
        assert await redis_client.xlen(stream_key(deployment_id)) < 400  # "~": trimmed in whole nodes
    finally:
        await broker.close()
        await redis_client.delete(stream_key(deployment_id))


async def test_redis_unreachable_publish_is_quiet_and_readers_fail_over() -> None:
    broker = RedisStreamBroker("redis://127.0.0.1:1/0", publish_timeout_s=0.5)
    try:
        await broker.publish("d", _ev(1))  # never raises: the events are in the DB already
        await broker.publish("d", _ev(2))  # paused after the failure: returns at once
        sub = broker.subscribe("d", 0)
        with pytest.raises(SubscriptionLost) as lost:
            while await sub.next_event(5) is None:
                pass
        assert lost.value.reason == "broker_unavailable"
        assert broker.subscriber_count() == 0
    finally:
        await broker.close()
