"""Live fan-out of deployment events: Redis Streams across processes, or asyncio in one process.

The broker is a fast path only: events are durable in the database, and every consumer (the SSE stream)
de-duplicates by ``seq`` and fills gaps from the DB. So the broker may lose events (Redis down, a slow
subscriber dropped), but never reorders one deployment's events.

- ``InProcessBroker``: per-deployment set of bounded subscriber buffers. A subscriber that falls behind by more
  than its buffer is dropped (its iterator raises ``SubscriptionLost``) rather than slowing the others; the
  consumer backfills from the DB and subscribes again. Publishing from another thread is safe.
- ``RedisStreamBroker``: ``XADD lxcm:events:<deployment id>`` with the explicit entry id ``<seq>-0`` (a repeated
  publish is refused by Redis, not duplicated), trimmed with ``MAXLEN ~`` and expiring some time after the
  terminal event. Each process runs one ``XREAD BLOCK`` reader per watched deployment and fans out locally.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, Protocol

from lxc_manager.core.logging import get_logger

log = get_logger(__name__)

Event = dict[str, Any]

DEFAULT_BUFFER = 1024
STREAM_PREFIX = "lxcm:events:"


class SubscriptionLost(Exception):
    """The broker stopped delivering to this subscription (too slow, broker down, broker closed)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class EventSubscription(Protocol):
    """Events of one deployment, in ``seq`` order, possibly with gaps; also an ``AsyncIterator[dict]``."""

    def __aiter__(self) -> AsyncIterator[Event]: ...

    async def __anext__(self) -> Event: ...

    async def next_event(self, wait_s: float) -> Event | None:
        """The next event, or None after ``wait_s`` seconds; raises ``SubscriptionLost``."""
        ...

    def take_ready(self, limit: int) -> list[Event]:
        """Up to ``limit`` events already waiting, without blocking (lets a consumer batch its writes)."""
        ...

    def close(self) -> None:
        """Stop receiving (synchronous: safe in cleanup code that runs while being cancelled)."""
        ...


class EventBroker(Protocol):
    async def publish(self, deployment_id: str, event: Event) -> None: ...

    async def publish_many(self, deployment_id: str, events: Sequence[Event]) -> None: ...

    def subscribe(self, deployment_id: str, after_seq: int) -> EventSubscription:
        """Start receiving at once (called inside a running event loop); events may start after ``after_seq``."""
        ...

    def subscriber_count(self, deployment_id: str | None = None) -> int: ...

    async def close(self) -> None: ...


class LocalSubscription:
    """A bounded buffer owned by one event loop; fed by a ``_FanOut`` (possibly from another thread)."""

    def __init__(self, fanout: _FanOut, deployment_id: str, buffer_size: int) -> None:
        self.deployment_id = deployment_id
        self._fanout = fanout
        self._loop = asyncio.get_running_loop()
        self._buffer: deque[Event] = deque()
        self._buffer_size = buffer_size
        self._waiter: asyncio.Future[None] | None = None
        # One timer per deadline, not one per wait: a stream waits with the same deadline (its next access
        # re-check) for many events, and 1,000 streams times every event would otherwise churn the timer heap.
        self._deadline = 0.0
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._deadline_passed = False
        self._lost: str | None = None
        self.closed = False

    def _arm(self, deadline: float) -> None:
        if self._deadline_timer is not None and abs(deadline - self._deadline) <= 0.01:
            return  # the same deadline as before (within 10 ms): keep its timer
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
        self._deadline, self._deadline_passed = deadline, False
        self._deadline_timer = self._loop.call_at(deadline, self._on_deadline)

    def _on_deadline(self) -> None:
        self._deadline_passed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # --- producer side (runs on this subscription's loop)
    def _offer(self, events: Sequence[Event]) -> None:
        if self.closed or self._lost is not None:
            return
        if len(self._buffer) + len(events) > self._buffer_size:
            self._buffer.clear()
            self._fail("lagged")
            return
        self._buffer.extend(events)
        self._wake()

    def _fail(self, reason: str) -> None:
        if self._lost is None:
            self._lost = reason
        self._fanout.remove(self)
        self._wake()

    def offer(self, events: Sequence[Event]) -> None:
        self._call(self._offer, events)

    def fail(self, reason: str) -> None:
        self._call(self._fail, reason)

    def _call(self, func: Any, arg: Any) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            func(arg)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(func, arg)

    # --- consumer side
    async def next_event(self, wait_s: float) -> Event | None:
        deadline = self._loop.time() + wait_s
        while True:
            if self._buffer:
                return self._buffer.popleft()
            if self._lost is not None:
                raise SubscriptionLost(self._lost)
            if self.closed:
                raise SubscriptionLost("closed")
            self._arm(deadline)
            if self._deadline_passed:
                self._deadline_timer = None
                return None
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def take_ready(self, limit: int) -> list[Event]:
        ready: list[Event] = []
        while self._buffer and len(ready) < limit:
            ready.append(self._buffer.popleft())
        return ready

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        try:
            while (event := await self.next_event(3600.0)) is None:
                pass
        except SubscriptionLost:
            raise StopAsyncIteration from None
        return event

    def close(self) -> None:
        self.closed = True
        self._fanout.remove(self)
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer = None
        self._wake()


class _FanOut:
    """Subscribers by deployment; thread-safe registration so publishers in other threads can deliver."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[str, set[LocalSubscription]] = {}

    def add(self, sub: LocalSubscription) -> None:
        with self._lock:
            self._subs.setdefault(sub.deployment_id, set()).add(sub)

    def remove(self, sub: LocalSubscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.deployment_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.deployment_id]

    def subscribers(self, deployment_id: str) -> list[LocalSubscription]:
        with self._lock:
            return list(self._subs.get(deployment_id, ()))

    def has(self, deployment_id: str) -> bool:
        with self._lock:
            return bool(self._subs.get(deployment_id))

    def count(self, deployment_id: str | None = None) -> int:
        with self._lock:
            if deployment_id is not None:
                return len(self._subs.get(deployment_id, ()))
            return sum(len(s) for s in self._subs.values())

    def deliver(self, deployment_id: str, events: Sequence[Event]) -> None:
        for sub in self.subscribers(deployment_id):
            sub.offer(events)

    def fail(self, deployment_id: str | None, reason: str) -> None:
        with self._lock:
            targets = [s for d, subs in self._subs.items() if deployment_id in (None, d) for s in subs]
        for sub in targets:
            sub.fail(reason)


class InProcessBroker:
    """Fan-out inside this process (no Redis): the API and the in-process jobs share it."""

    def __init__(self, *, buffer_size: int = DEFAULT_BUFFER) -> None:
        self._fanout = _FanOut()
        self._buffer_size = buffer_size

    async def publish(self, deployment_id: str, event: Event) -> None:
        self._fanout.deliver(deployment_id, [event])

    async def publish_many(self, deployment_id: str, events: Sequence[Event]) -> None:
        if events:
            self._fanout.deliver(deployment_id, list(events))

    def subscribe(self, deployment_id: str, after_seq: int) -> LocalSubscription:
        sub = LocalSubscription(self._fanout, deployment_id, self._buffer_size)
        self._fanout.add(sub)
        return sub

    def subscriber_count(self, deployment_id: str | None = None) -> int:
        return self._fanout.count(deployment_id)

    async def close(self) -> None:
        self._fanout.fail(None, "closed")


def stream_key(deployment_id: str) -> str:
    return f"{STREAM_PREFIX}{deployment_id}"


class RedisStreamBroker:
    """Redis Streams: durable-for-a-while, ordered per deployment, readable from any API replica."""

    def __init__(
        self,
        redis_url: str,
        *,
        maxlen: int = 10_000,
        ttl_after_end_s: int = 600,
        idle_ttl_s: int = 7 * 24 * 3600,
        block_ms: int = 5_000,
        publish_timeout_s: float = 2.0,
        retry_after_failure_s: float = 5.0,
        buffer_size: int = DEFAULT_BUFFER,
    ) -> None:
        import redis.asyncio as aioredis

        self._maxlen = maxlen
        self._ttl_after_end_s = ttl_after_end_s
        self._idle_ttl_s = idle_ttl_s
        self._block_ms = block_ms
        self._publish_timeout_s = publish_timeout_s
        self._retry_after_failure_s = retry_after_failure_s
        self._buffer_size = buffer_size
        # Separate clients: publishes must fail fast, readers block for up to block_ms.
        self._pub = aioredis.Redis.from_url(
            redis_url, decode_responses=True, socket_connect_timeout=2, socket_timeout=publish_timeout_s
        )
        self._sub = aioredis.Redis.from_url(
            redis_url, decode_responses=True, socket_connect_timeout=2, socket_timeout=block_ms / 1000 + 10
        )
        self._fanout = _FanOut()
        self._readers: dict[str, asyncio.Task[None]] = {}
        self._publish_paused_until = 0.0

    async def publish(self, deployment_id: str, event: Event) -> None:
        await self.publish_many(deployment_id, [event])

    async def publish_many(self, deployment_id: str, events: Sequence[Event]) -> None:
        """Never raises: the events are in the DB already; readers fill a gap from there."""
        if not events:
            return
        if time.monotonic() < self._publish_paused_until:
            return  # Redis failed a moment ago: do not stall the pipeline on every line
        key = stream_key(deployment_id)
        terminal = any(e.get("type") == "result" for e in events)
        try:
            async with asyncio.timeout(self._publish_timeout_s * 2):
                pipe = self._pub.pipeline(transaction=False)
                for event in events:
                    fields = {"e": json.dumps(event, separators=(",", ":"), ensure_ascii=False)}
                    pipe.xadd(key, fields, id=f"{int(event['seq'])}-0", maxlen=self._maxlen, approximate=True)
                pipe.expire(key, self._ttl_after_end_s if terminal else self._idle_ttl_s)
                results = await pipe.execute(raise_on_error=False)
        except (OSError, TimeoutError, ConnectionError) as exc:
            self._pause(exc)
            return
        except Exception as exc:
            if _is_redis_error(exc):
                self._pause(exc)
                return
            raise
        for result in results:
            # "equal or smaller than the target stream top item": already published (a repeat); harmless.
            if isinstance(result, Exception) and "equal or smaller" not in str(result):
                log.warning("events_publish_refused", deployment_id=deployment_id, error=str(result))

    def _pause(self, exc: BaseException) -> None:
        self._publish_paused_until = time.monotonic() + self._retry_after_failure_s
        log.warning("events_publish_failed", error_type=type(exc).__name__, error=str(exc))

    def subscribe(self, deployment_id: str, after_seq: int) -> LocalSubscription:
        sub = LocalSubscription(self._fanout, deployment_id, self._buffer_size)
        self._fanout.add(sub)
        reader = self._readers.get(deployment_id)
        if reader is None or reader.done():
            self._readers[deployment_id] = asyncio.create_task(
                self._read(deployment_id, after_seq), name=f"events-reader:{deployment_id}"
            )
        return sub

    async def _read(self, deployment_id: str, after_seq: int) -> None:
        key = stream_key(deployment_id)
        last_id = f"{after_seq}-0"
        try:
            while self._fanout.has(deployment_id):
                try:
                    response = await self._sub.xread({key: last_id}, count=500, block=self._block_ms)
                except Exception as exc:
                    if not (_is_redis_error(exc) or isinstance(exc, OSError | TimeoutError)):
                        raise
                    log.warning("events_read_failed", error_type=type(exc).__name__, error=str(exc))
                    self._fanout.fail(deployment_id, "broker_unavailable")
                    return
                events: list[Event] = []
                for _stream, entries in response or ():
                    for entry_id, fields in entries:
                        last_id = entry_id
                        events.append(json.loads(fields["e"]))
                if events:
                    self._fanout.deliver(deployment_id, events)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("events_reader_crashed", deployment_id=deployment_id)
            self._fanout.fail(deployment_id, "broker_error")
        finally:
            if self._readers.get(deployment_id) is asyncio.current_task():
                del self._readers[deployment_id]

    def subscriber_count(self, deployment_id: str | None = None) -> int:
        return self._fanout.count(deployment_id)

    def reader_count(self) -> int:
        return sum(1 for task in self._readers.values() if not task.done())

    async def close(self) -> None:
        self._fanout.fail(None, "closed")
        readers = list(self._readers.values())
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await self._pub.aclose()
        await self._sub.aclose()


def _is_redis_error(exc: BaseException) -> bool:
    from redis.exceptions import RedisError

    return isinstance(exc, RedisError)


def create_broker(redis_url: str | None) -> EventBroker:
    """Redis Streams when ``LXCM_REDIS_URL`` is set (the API and workers are separate processes), else in-process."""
    return RedisStreamBroker(redis_url) if redis_url else InProcessBroker()


def as_broker(value: object) -> EventBroker | None:
    """``AppState.events`` / ``ctx["events"]`` typed (core may not import this module)."""
    if value is None:
        return None
    if isinstance(value, InProcessBroker | RedisStreamBroker):
        return value
    required: Iterable[str] = ("publish_many", "subscribe", "close")
    if all(hasattr(value, name) for name in required):
        return value  # type: ignore[return-value]
    raise TypeError(f"not an event broker: {type(value).__name__}")
